"""Scanned documents: pages without a text layer are read by Tesseract (Vietnamese); a scan
whose OCR cannot run, or not in time, is uninspectable, never clean."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from gateway.analysis.extract.ocr import OcrEngine
from gateway.analysis.extract.pdf import pdf_text
from gateway.analysis.model import Analysis, Classification
from gateway.analysis.settings import AnalysisLimits, AnalysisSettings
from gateway.analysis.timelimit import Deadline
from tests.fixtures.documents import Attachment, OfficialPaper, message, official_pdf
from tests.fixtures.scans import image_only_pdf, scanned_official_pdf, scanned_page
from tests.support.analysing import Analyser

SCAN = scanned_official_pdf()
PATIENT = AnalysisLimits(document_seconds=120.0)  # a loaded machine must not fail the test


def _analysed(analysed: Analyser, settings: AnalysisSettings, data: bytes,
              limits: AnalysisLimits = PATIENT) -> Analysis:
    return analysed(message(attachments=[Attachment("scan0001.pdf", data)]),
                    with_settings=replace(settings, limits=limits))


def test_scanned_page_stamp_title_and_number_are_read(
    analysed: Analyser, settings: AnalysisSettings
) -> None:
    analysis = _analysed(analysed, settings, SCAN)
    document = analysis.documents[1]
    assert document.uninspectable is None
    assert document.classification == Classification.MAT
    assert document.doc_type == "giay_moi"
    assert document.official_number == "12/GM-UBND"
    assert any("read by OCR" in problem for problem in analysis.problems)


def test_scan_without_stamp_raises_no_alarm(analysed: Analyser, settings: AnalysisSettings) -> None:
    analysis = _analysed(analysed, settings, scanned_official_pdf(stamp=None))
    document = analysis.documents[1]
    assert document.classification is None and document.doc_type == "giay_moi"
    assert analysis.classification is None and analysis.uninspectable == ()


def test_only_the_first_pages_are_read_by_ocr() -> None:
    two = image_only_pdf([scanned_page(stamp=None), scanned_page(stamp="TỐI MẬT", seed=9)])
    one = pdf_text(two, replace(PATIENT, ocr_pages=1), Deadline.after(120))
    assert "TỐI MẬT" not in one.text and "GIẤY" in one.text.replace("GIẦY", "GIẤY")
    assert any("not read by OCR" in problem for problem in one.problems)
    both = pdf_text(two, replace(PATIENT, ocr_pages=2), Deadline.after(120))
    assert "TỐI MẬT" in both.text


def test_pages_with_a_text_layer_are_not_ocred() -> None:
    result = pdf_text(official_pdf(OfficialPaper(stamp="MẬT")), PATIENT, Deadline.after(120))
    assert "MẬT" in result.text
    assert not any("OCR" in problem for problem in result.problems)


@pytest.mark.parametrize("seconds", [0.0, 0.01])
def test_ocr_out_of_time_fails(seconds: float) -> None:
    result = OcrEngine().read(SCAN, [1], Deadline.after(seconds))
    assert result.failure == "OCR ran out of time"


def test_scan_whose_ocr_cannot_run_is_uninspectable(
    analysed: Analyser, settings: AnalysisSettings, monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # no pdftoppm, no tesseract
    analysis = _analysed(analysed, settings, SCAN)
    reason = analysis.documents[1].uninspectable or ""
    assert "scanned PDF" in reason and "OCR is not installed" in reason
    assert analysis.uninspectable
