"""Text extraction limits: pages, characters, time; legacy Word; loader of settings."""

from __future__ import annotations

import time
from dataclasses import replace
from pathlib import Path

import pytest

from gateway.analysis import filetypes
from gateway.analysis.extract import extract_text
from gateway.analysis.extract.html import html_text
from gateway.analysis.model import Classification
from gateway.analysis.settings import AnalysisLimits, AnalysisSettings
from gateway.analysis.timelimit import Deadline, TimeLimitExceeded, alarm
from gateway.policy.loader import PolicyError, load_sources
from tests.fixtures.documents import Attachment, OfficialPaper, message, official_pdf
from tests.support.analysing import Analyser
from tests.support.builders import LISTS, POLICIES

LIMITS = AnalysisLimits()


def test_pdf_pages_and_characters_are_limited() -> None:
    pdf = official_pdf(OfficialPaper(pages=6))
    two = extract_text(pdf, filetypes.PDF, None, replace(LIMITS, text_pages=2),
                       Deadline.after(10))
    assert "GIẤY MỜI" in two.text and "1.0 " in two.text and "2.0 " not in two.text
    short = extract_text(pdf, filetypes.PDF, None, replace(LIMITS, text_chars=100),
                         Deadline.after(10))
    assert len(short.text) == 100


def test_expired_deadline_stops_pdf_reading() -> None:
    with pytest.raises(TimeLimitExceeded):
        extract_text(official_pdf(), filetypes.PDF, None, LIMITS, Deadline(time.monotonic() - 1))


def test_alarm_interrupts_a_stuck_parser() -> None:
    started = time.monotonic()
    with pytest.raises(TimeLimitExceeded), alarm(0.2):
        while True:
            time.sleep(0.01)
    assert time.monotonic() - started < 2


def test_timed_out_document_is_uninspectable(
    analysed: Analyser, settings: AnalysisSettings
) -> None:
    hurried = replace(settings, limits=replace(LIMITS, document_seconds=0.000001))
    analysis = analysed(message(attachments=[Attachment("a.pdf", official_pdf())]),
                        with_settings=hurried)
    assert "ran out of time" in (analysis.documents[1].uninspectable or "")


def test_broken_pdf_is_uninspectable_not_an_error() -> None:
    result = extract_text(b"%PDF-1.7\n1 0 obj <<", filetypes.PDF, None, LIMITS,
                          Deadline.after(5))
    assert result.uninspectable is not None and "PDF" in result.uninspectable


def test_legacy_word_text_is_read_approximately(analysed: Analyser) -> None:
    ole = (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(504) + "TỐI MẬT\rBÁO CÁO\r".encode(
        "utf-16-le") + bytes(64))
    analysis = analysed(message(attachments=[Attachment("bc.doc", ole, "application/msword")]))
    document = analysis.documents[1]
    assert document.classification == Classification.TOI_MAT
    assert document.doc_type == "bao_cao"


def test_encrypted_office_file_is_uninspectable(analysed: Analyser) -> None:
    ole = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(504) + "EncryptedPackage".encode(
        "utf-16-le")
    analysis = analysed(message(attachments=[Attachment("a.docx", ole, "application/msword")]))
    assert "encrypted Office document" in (analysis.documents[1].uninspectable or "")


def test_html_text_skips_scripts_and_breaks_blocks() -> None:
    markup = "<style>p{}</style><p>MẬT</p><div>Báo<br>cáo</div><script>x='TỐI MẬT'</script>"
    assert html_text(markup) == "MẬT\nBáo\ncáo"


def test_policy_files_load_and_unknown_keys_are_refused(settings: AnalysisSettings) -> None:
    designated = {spec.id for spec in settings.document_types if spec.designated}
    assert {"giay_moi", "bao_cao"} <= designated
    assert "X-Do-Mat" in settings.classification.headers
    with pytest.raises(PolicyError, match="unknown key 'header'"):
        load_sources([("lists.yaml", LISTS), ("x.yaml", "classification: {header: []}\n")])
    types = "document_types:\n  - {id: x, name: X, codes: []}\n"
    with pytest.raises(PolicyError, match="unknown key 'codes'"):
        load_sources([("lists.yaml", LISTS.split("document_types:")[0]), ("x.yaml", types)])


def test_policy_files_exist() -> None:
    assert Path(POLICIES / "document_types.yaml").read_text(encoding="utf-8").startswith("#")


def test_spreadsheet_and_presentation_text(analysed: Analyser) -> None:
    from tests.fixtures.documents import pptx, xlsx

    msg = message(attachments=[
        Attachment("so lieu.xlsx", xlsx(["TỐI MẬT", "Bảng tổng hợp", "Mật độ dân số"]),
                   "application/octet-stream"),
        Attachment("trinh chieu.pptx", pptx(["BÁO CÁO", "Kết quả quý III"] + ["x"] * 10),
                   "application/octet-stream"),
    ])
    documents = {d.filename: d for d in analysed(msg).documents}
    sheet, slides = documents["so lieu.xlsx"], documents["trinh chieu.pptx"]
    assert sheet.detected_type == filetypes.XLSX
    assert sheet.classification == Classification.TOI_MAT
    assert (slides.detected_type, slides.doc_type) == (filetypes.PPTX, "bao_cao")
