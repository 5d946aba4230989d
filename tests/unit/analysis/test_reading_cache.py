"""Readings kept by an analysis process: a leaf seen before is judged once per policy,
and reusing its reading never changes what the analysis says."""

from __future__ import annotations

import base64
from dataclasses import replace

import pytest

from gateway.analysis.analyse import analyse
from gateway.analysis.doctype import TypeFinding, type_table
from gateway.analysis.extract.model import Extraction
from gateway.analysis.markings import MarkingScan, compile_rules
from gateway.analysis.model import Analysis, Classification
from gateway.analysis.readings import Classifiers, Reading, ReadingCache
from gateway.analysis.settings import AnalysisSettings
from tests.fixtures.documents import (
    Attachment,
    OfficialPaper,
    forwarded,
    message,
    official_docx,
    official_pdf,
    raw_message,
    to_bytes,
    zip_of,
)

STAMPED = official_pdf(OfficialPaper(stamp="MẬT"))
UNTITLED = official_pdf(OfficialPaper(title=None, number=None))
HTML = "<p>Kính gửi anh chị,</p><p><b>GIẤY MỜI</b> họp giao ban</p>"


def _corpus() -> dict[str, bytes]:
    """Messages whose readings differ in every way a reading can: bodies in text and HTML,
    stamps in text, file names and subjects, typed and untyped documents, archives with
    refused members, nested messages."""
    letter = message(body="Kính gửi Sở,\nTôi xin phản ánh việc sau.\n", html=HTML)
    return {
        "letter": to_bytes(letter),
        "stamped": to_bytes(message(attachments=[Attachment("Giấy mời.pdf", STAMPED)])),
        "named": to_bytes(message(attachments=[Attachment("Tài liệu TỐI MẬT.pdf", UNTITLED)])),
        "subject": to_bytes(message(subject="Giấy mời họp giao ban",
                                    attachments=[Attachment("a.pdf", UNTITLED)])),
        "docx": to_bytes(message(attachments=[Attachment(
            "bao-cao.docx", official_docx(["BÁO CÁO", "Tình hình tháng 11"]),
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document")])),
        "archive": to_bytes(message(attachments=[Attachment(
            "ho-so.zip", zip_of({"a.pdf": STAMPED, "b.pdf": UNTITLED}, encrypted=["b.pdf"]),
            "application/zip")])),
        "forwarded": to_bytes(forwarded(letter)),
        "body stamp": to_bytes(message(body="TỐI MẬT\nKính gửi anh chị.\n")),
    }


CORPUS = _corpus()


@pytest.mark.parametrize("name", sorted(CORPUS))
def test_a_message_read_again_is_judged_from_the_cache_and_unchanged(
    name: str, settings: AnalysisSettings,
) -> None:
    data = CORPUS[name]
    readings = ReadingCache()
    first = analyse(data, settings, None, readings)
    misses = readings.entries.misses
    again = analyse(data, settings, None, readings)
    assert readings.entries.misses == misses  # every reading kept was taken again
    assert readings.entries.hits == len(readings.entries) > 0
    assert first == again == analyse(data, settings, None)


def test_the_whole_corpus_through_one_cache_reads_as_without(settings: AnalysisSettings) -> None:
    """Messages sharing bytes at other places, names and subjects never take each other's
    reading: every analysis equals the one without a cache."""
    readings = ReadingCache()
    for _ in range(2):
        for name, data in CORPUS.items():
            assert analyse(data, settings, None, readings) == analyse(data, settings, None), name
    assert readings.entries.hits > 0


def test_the_same_document_under_another_name_is_judged_again(
    settings: AnalysisSettings,
) -> None:
    readings = ReadingCache()
    plain = analyse(to_bytes(message(attachments=[Attachment("a.pdf", UNTITLED)])),
                    settings, None, readings)
    renamed = analyse(CORPUS["named"], settings, None, readings)
    assert plain.classification is None
    assert renamed.classification == Classification.TOI_MAT
    assert readings.texts.entries.hits == 1  # the text was read once all the same


def test_the_same_document_with_one_more_name_is_judged_again(
    settings: AnalysisSettings,
) -> None:
    readings = ReadingCache()
    plain = analyse(_named("a.pdf"), settings, None, readings)
    stamped = analyse(_named("a.pdf\"; filename*=utf-8''T%E1%BB%90I%20M%E1%BA%ACT.pdf"),
                      settings, None, readings)
    assert (plain.classification, stamped.classification) == (None, Classification.TOI_MAT)


def _named(rest: str) -> bytes:
    """UNTITLED attached with a Content-Disposition of `filename="` and `rest`, verbatim."""
    head = 'From: a@thuathienhue.gov.vn\nSubject: x\nContent-Type: multipart/mixed; boundary="X"'
    part = ("--X\r\nContent-Type: application/pdf\r\nContent-Disposition: attachment; "
            f'filename="{rest}\r\nContent-Transfer-Encoding: base64\r\n\r\n')
    return raw_message(head, part.encode() + base64.encodebytes(UNTITLED) + b"--X--\r\n")


def test_the_subject_counts_where_it_speaks_for_the_document(
    settings: AnalysisSettings,
) -> None:
    readings = ReadingCache()
    sent = to_bytes(message(subject="Gửi tài liệu", attachments=[Attachment("a.pdf", UNTITLED)]))
    invited = analyse(CORPUS["subject"], settings, None, readings)
    other = analyse(sent, settings, None, readings)
    assert invited.documents[1].doc_type == "giay_moi"
    assert other.documents[1].doc_type != "giay_moi"
    assert other == analyse(sent, settings, None)


def test_another_policy_judges_again(settings: AnalysisSettings) -> None:
    """A reloaded policy (here: an ignore pattern for MẬT) empties the readings; the
    texts stay."""
    readings = ReadingCache()
    data = CORPUS["stamped"]
    ignoring = replace(settings, classification=replace(
        settings.classification, ignore_patterns=("MẬT",)))
    assert analyse(data, settings, None, readings).classification == Classification.MAT
    assert analyse(data, ignoring, None, readings).classification is None
    assert analyse(data, settings, None, readings).classification == Classification.MAT
    assert readings.entries.hits == 0
    assert readings.texts.entries.hits == 2


def test_an_equal_policy_read_again_keeps_the_readings(settings: AnalysisSettings) -> None:
    """Each analysis child unpickles the settings of every job: equal settings, new
    objects, the same readings."""
    readings = ReadingCache()
    analyse(CORPUS["stamped"], settings, None, readings)
    analyse(CORPUS["stamped"], replace(settings), None, readings)
    assert readings.entries.hits == 2


def test_refused_parts_are_never_looked_up(settings: AnalysisSettings) -> None:
    readings = ReadingCache()
    for _ in range(2):
        analysis = analyse(CORPUS["archive"], settings, None, readings)
        refused = [d for d in analysis.documents if d.uninspectable]
        assert [d.filename for d in refused] == ["b.pdf"]
    assert len(readings.entries) == len(analysis.documents) - 1


def _classifiers(settings: AnalysisSettings) -> Classifiers:
    return Classifiers(type_table(settings.document_types, settings.untyped_document_type),
                       compile_rules(settings.classification), settings.limits)


def _reading(text: str, uninspectable: str | None = None) -> Reading:
    return Reading(Extraction(text, uninspectable), TypeFinding(), MarkingScan(), "0" * 64)


def test_uninspectable_readings_are_not_kept(settings: AnalysisSettings) -> None:
    """A time-out or a missing OCR engine may not happen next time: read again."""
    readings, calls = ReadingCache(), []
    classifiers = _classifiers(settings)

    def read() -> Reading:
        calls.append(1)
        return _reading("", "text extraction ran out of time (10 s)")

    for _ in range(2):
        assert readings.reading(("key",), classifiers, read).extraction.uninspectable
    assert len(calls) == 2 and len(readings.entries) == 0


def test_the_readings_are_bounded_by_count_and_characters(settings: AnalysisSettings) -> None:
    classifiers = _classifiers(settings)
    by_count = ReadingCache(max_documents=3)
    by_size = ReadingCache(max_characters=25)
    for number in range(5):
        for readings in (by_count, by_size):
            readings.reading((number,), classifiers, lambda: _reading("x" * 10))
    assert len(by_count.entries) == 3
    assert len(by_size.entries) == 2 and by_size.entries.weight == 20


def _analysed_twice(data: bytes, settings: AnalysisSettings) -> tuple[Analysis, Analysis]:
    readings = ReadingCache()
    return analyse(data, settings, None, readings), analyse(data, settings, None, readings)


def test_evidence_names_the_place_of_each_copy(settings: AnalysisSettings) -> None:
    """The same stamped body at the top and inside a forwarded message: each is named
    where it is, not where it was first read."""
    inner = message(body="TỐI MẬT\nKính gửi anh chị.\n")
    outer = message(body="TỐI MẬT\nKính gửi anh chị.\n")
    outer.add_attachment(inner)
    first, again = _analysed_twice(to_bytes(outer), settings)
    places = sorted(m.where for d in again.documents for m in d.markings)
    assert len(set(places)) == 2
    assert first == again
