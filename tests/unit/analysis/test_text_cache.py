"""Documents read before: their text is reused by hash, whatever the policy judges.

Each analysis here gets a fresh reading cache over the shared text cache, so that only
the texts are reused (readings have their own tests: test_reading_cache.py)."""

from __future__ import annotations

import hashlib
from dataclasses import replace

from gateway.analysis import filetypes
from gateway.analysis.analyse import analyse
from gateway.analysis.extract.cache import TextCache
from gateway.analysis.extract.model import Extraction
from gateway.analysis.model import Analysis, Classification
from gateway.analysis.readings import ReadingCache
from gateway.analysis.settings import AnalysisLimits, AnalysisSettings
from gateway.analysis.worker import run_analysis
from gateway.signatures.cache import VerdictCache
from gateway.signatures.setup import CheckerCache
from tests.fixtures.documents import Attachment, OfficialPaper, message, official_pdf, to_bytes

STAMPED = official_pdf(OfficialPaper(stamp="MẬT", pages=3))


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _analyse(data: bytes, settings: AnalysisSettings, texts: TextCache | None) -> Analysis:
    return analyse(data, settings, None, None if texts is None else ReadingCache(texts=texts))


def _mail(name: str, pdf: bytes = STAMPED, subject: str = "Gửi tài liệu") -> bytes:
    return to_bytes(message(subject=subject, attachments=[Attachment(name, pdf)]))


def test_a_document_sent_again_is_read_once_and_judged_the_same(
    settings: AnalysisSettings,
) -> None:
    texts = TextCache()
    first = _analyse(_mail("Giấy mời.pdf"), settings, texts)
    again = _analyse(_mail("Giấy mời.pdf"), settings, texts)
    fresh = _analyse(_mail("Giấy mời.pdf"), settings, None)
    assert (texts.entries.hits, texts.entries.misses) == (1, 1)  # the PDF (not the body)
    assert first.documents == again.documents == fresh.documents
    assert again.classification == fresh.classification == Classification.MAT
    assert again.documents[1].doc_type == "giay_moi"


def test_what_the_policy_judges_is_judged_on_every_message(
    settings: AnalysisSettings,
) -> None:
    """Only the text is reused: the file name, subject and rules still count."""
    texts = TextCache()
    plain = official_pdf(OfficialPaper(title="BÁO CÁO", number=None))
    _analyse(_mail("a.pdf", plain), settings, texts)
    renamed = _analyse(_mail("Tài liệu TỐI MẬT.pdf", plain), settings, texts)
    assert texts.entries.hits == 1
    assert renamed.classification == Classification.TOI_MAT
    ignoring = replace(settings.classification, ignore_patterns=("MẬT",))
    unmarked = replace(settings, classification=ignoring)
    assert _analyse(_mail("a.pdf"), unmarked, texts).classification is None
    assert _analyse(_mail("a.pdf"), settings, texts).classification == Classification.MAT


def test_other_limits_read_the_document_again(settings: AnalysisSettings) -> None:
    texts = TextCache()
    one_page = replace(settings, limits=replace(settings.limits, text_pages=1))
    _analyse(_mail("a.pdf"), settings, texts)
    _analyse(_mail("a.pdf"), one_page, texts)
    assert (texts.entries.hits, texts.entries.misses, len(texts.entries)) == (0, 2, 2)


def test_text_parts_are_read_each_time() -> None:
    texts = TextCache()
    for _ in range(2):
        found = texts.extraction(_sha256(b"MAT"), "text/html", "utf-8", AnalysisLimits(),
                                 lambda: Extraction("MẬT"))
        assert found.text == "MẬT"
    assert len(texts.entries) == 0 and texts.entries.misses == 0


def test_uninspectable_results_are_not_kept() -> None:
    """A time-out or a missing OCR engine may not happen next time: read again."""
    texts, calls = TextCache(), []

    def extract() -> Extraction:
        calls.append(1)
        return Extraction(uninspectable="text extraction ran out of time (10 s)")

    for _ in range(2):
        found = texts.extraction(_sha256(b"%PDF"), filetypes.PDF, None, AnalysisLimits(), extract)
        assert found.uninspectable is not None
    assert len(calls) == 2 and len(texts.entries) == 0


def test_the_cache_is_bounded_by_characters() -> None:
    texts = TextCache(max_documents=100, max_characters=25)
    limits = AnalysisLimits()
    for number in range(5):
        texts.extraction(_sha256(bytes([number])), filetypes.DOCX, None, limits,
                         lambda: Extraction("x" * 10))
    assert len(texts.entries) == 2 and texts.entries.weight == 20
    texts.extraction(_sha256(b"big"), filetypes.DOCX, None, limits, lambda: Extraction("x" * 26))
    assert len(texts.entries) == 2  # too big on its own: not kept, nothing evicted for it


def test_weighted_verdict_cache_evicts_the_oldest() -> None:
    cache: VerdictCache[str] = VerdictCache(10, weigh=len, max_weight=6)
    cache.put(("a",), "aaa")
    cache.put(("b",), "bbb")
    cache.put(("a",), "aa")  # replacing an entry re-weighs it
    assert cache.weight == 5
    cache.put(("c",), "cc")
    assert cache.get(("b",)) is None and cache.get(("a",)) == "aa" and cache.weight == 4


def test_analysis_workers_keep_what_they_read(settings: AnalysisSettings) -> None:
    """The worker's entry point reuses the readings its owner passes from one message to
    the next: the body and the PDF are judged once, the PDF read once."""
    data = _mail(f"{__name__}.pdf", official_pdf(OfficialPaper(number="77/BC-UBND")))
    checkers, readings = CheckerCache(), ReadingCache()
    first = run_analysis(data, settings, None, checkers, readings)
    assert (readings.entries.hits, readings.entries.misses) == (0, 2)
    again = run_analysis(data, settings, None, checkers, readings)
    assert (readings.entries.hits, readings.entries.misses) == (2, 2)
    assert readings.texts.entries.misses == 1 and readings.texts.entries.hits == 0
    assert first.documents == again.documents
