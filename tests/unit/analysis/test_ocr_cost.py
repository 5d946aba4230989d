"""The cost of OCR (issue 14): what Tesseract read is remembered by the document, the page
and every setting of the engine, so the same scan sent again is not read again; the stamp
is found as before. The engine and its cache are objects passed in by their owner (the
analysis child); each analysis makes its own per-message budget."""

from __future__ import annotations

from dataclasses import replace

from gateway.analysis.analyse import analyse
from gateway.analysis.extract.ocr import OcrEngine
from gateway.analysis.extract.ocrcache import OcrCache
from gateway.analysis.model import Analysis, Classification
from gateway.analysis.readings import ReadingCache
from gateway.analysis.settings import AnalysisLimits, AnalysisSettings
from gateway.analysis.timelimit import Deadline
from gateway.analysis.worker import run_analysis
from gateway.signatures.setup import CheckerCache
from tests.fixtures.documents import Attachment, message, to_bytes
from tests.fixtures.scans import image_only_pdf, scanned_official_pdf, scanned_page

PATIENT = AnalysisLimits(document_seconds=120.0)  # a loaded machine must not fail the test
SCAN = scanned_official_pdf()


def _scans(engine: OcrEngine | None, settings: AnalysisSettings, limits: AnalysisLimits,
           *scans: bytes) -> Analysis:
    attachments = [Attachment(f"scan{n:04}.pdf", scan) for n, scan in enumerate(scans)]
    data = to_bytes(message(attachments=attachments))
    return analyse(data, replace(settings, limits=limits), None, ocr=engine)


def test_the_same_scan_sent_again_is_not_read_again(settings: AnalysisSettings) -> None:
    engine, checkers = OcrEngine(), CheckerCache()
    data = to_bytes(message(attachments=[Attachment("scan0001.pdf", SCAN)]))
    for _ in range(2):  # as an analysis child runs it, without a text cache
        analysis = run_analysis(data, replace(settings, limits=PATIENT), None, checkers,
                                ocr=engine)
        assert analysis.documents[1].classification == Classification.MAT
        assert analysis.documents[1].official_number == "12/GM-UBND"
    assert (engine.cache.misses, engine.cache.hits) == (1, 1)  # the second time from the cache


def test_the_ocr_cache_serves_what_the_text_cache_cannot(settings: AnalysisSettings) -> None:
    """The text cache keys on every limit: under another policy the page is still not read
    again (the caches belong to the same owner and are passed side by side)."""
    engine, readings = OcrEngine(), ReadingCache()
    data = to_bytes(message(attachments=[Attachment("scan0001.pdf", SCAN)]))
    for limits in (PATIENT, replace(PATIENT, text_chars=19000)):
        analysis = analyse(data, replace(settings, limits=limits), None, readings, ocr=engine)
        assert analysis.documents[1].classification == Classification.MAT
    assert readings.texts.entries.misses == 2 and engine.cache.hits == 1


def test_engines_share_nothing(settings: AnalysisSettings) -> None:
    """No engine of the module: what one engine read, another reads again."""
    one, other = OcrEngine(), OcrEngine()
    for engine in (one, other):
        analysis = _scans(engine, settings, PATIENT, SCAN)
        assert analysis.documents[1].classification == Classification.MAT
    assert (one.cache.misses, one.cache.hits) == (other.cache.misses, other.cache.hits) == (1, 0)


def test_a_page_is_remembered_by_document_and_page_number() -> None:
    engine = OcrEngine(OcrCache())
    two = image_only_pdf([scanned_page(stamp=None), scanned_page(stamp="TỐI MẬT", seed=9)])
    first = engine.read(two, [1, 2], Deadline.after(120))  # both pages: one Tesseract
    assert first.failure is None and "TỐI MẬT" in first.pages[2]
    assert "TỐI MẬT" not in first.pages[1]
    assert engine.read(two, [2], Deadline.after(120)).pages == {2: first.pages[2]}
    assert (engine.cache.misses, engine.cache.hits) == (2, 1)
    other = engine.read(SCAN, [1], Deadline.after(120))  # another document: read
    assert "MẬT" in other.pages[1] and engine.cache.misses == 3


def test_the_key_covers_the_engines_settings() -> None:
    shared = OcrCache()
    deadline = Deadline.after(120)
    OcrEngine(shared).read(SCAN, [1], deadline)
    finer = OcrEngine(shared, long_side=3000)
    assert "MẬT" in finer.read(SCAN, [1], deadline).pages[1]
    assert shared.hits == 0 and len(shared) == 2
    assert OcrEngine(shared).identity(deadline) != OcrEngine(
        shared, languages="vie+eng").identity(deadline)
    assert b"tesseract 5" in OcrEngine(shared).identity(deadline)  # the engine's version
    assert b"vie: /" in OcrEngine(shared).identity(deadline)  # where its data are, size, time


def test_a_message_reads_no_more_scanned_pages_than_its_budget(
    settings: AnalysisSettings,
) -> None:
    fresh = [scanned_official_pdf(seed=seed) for seed in (141, 142)]
    analysis = _scans(OcrEngine(), settings, replace(PATIENT, ocr_message_pages=1), *fresh)
    read, refused = analysis.documents[1], analysis.documents[2]
    assert read.uninspectable is None and read.classification == Classification.MAT
    assert "the message's OCR limit is reached (1 pages, 30 s)" in (refused.uninspectable or "")
    assert analysis.uninspectable  # the policy's outcome for what could not be read


def test_the_budget_is_per_message_and_pages_from_the_cache_are_free(
    settings: AnalysisSettings,
) -> None:
    engine, other = OcrEngine(), scanned_official_pdf(seed=143)
    for scan in (SCAN, other):  # a new message: a new budget of one page, same engine
        first = _scans(engine, settings, replace(PATIENT, ocr_message_pages=1), scan)
        assert first.documents[1].classification == Classification.MAT
    again = _scans(engine, settings, replace(PATIENT, ocr_message_pages=0), other, other)
    assert [d.classification for d in again.documents[1:]] == [Classification.MAT] * 2
    assert again.uninspectable == ()


def test_a_message_whose_ocr_time_is_spent_leaves_its_scans_uninspectable(
    settings: AnalysisSettings,
) -> None:
    analysis = _scans(OcrEngine(), settings, replace(PATIENT, ocr_message_seconds=0.0), SCAN)
    assert "OCR limit is reached" in (analysis.documents[1].uninspectable or "")


def test_a_failed_reading_is_not_remembered() -> None:
    engine = OcrEngine(OcrCache())
    assert engine.read(SCAN, [1], Deadline.after(0.0)).failure == "OCR ran out of time"
    assert len(engine.cache) == 0


def test_the_cache_is_bounded_in_entries_and_characters() -> None:
    cache = OcrCache(max_entries=2, max_chars=10)
    cache.put("a", "1234")
    cache.put("b", "5678")
    cache.get("a")
    cache.put("c", "90")  # three entries: the least recently used ("b") goes
    assert (cache.get("a"), cache.get("b"), cache.get("c")) == ("1234", None, "90")
    cache.put("d", "123456789")  # ten characters at most: "a" and "c" go
    assert len(cache) == 1 and cache.get("d") == "123456789"
    cache.put("e", "x" * 11)  # larger than the whole cache: not kept
    assert cache.get("e") is None and cache.get("d") == "123456789"
