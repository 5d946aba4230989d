"""What runs inside an analysis worker: the signature checker for the job's trust store,
from the process's one checker cache, then the analysis of the message."""

from __future__ import annotations

from dataclasses import replace

from gateway.analysis.analyse import analyse
from gateway.analysis.extract.ocr import OcrEngine
from gateway.analysis.model import Analysis
from gateway.analysis.readings import ReadingCache
from gateway.analysis.settings import AnalysisSettings
from gateway.analysis.timing import TimedChecking
from gateway.signatures.setup import CheckerCache, SignatureSetup


def run_analysis(
    message: bytes,
    settings: AnalysisSettings,
    signatures: SignatureSetup | None,
    checkers: CheckerCache,
    readings: ReadingCache | None = None,
    *,
    plain_only: bool = False,
    ocr: OcrEngine | None = None,
) -> Analysis:
    """The analysis of `message`, its signatures checked under `signatures` by the checker
    that `checkers` keeps for it (none checked without a setup), documents read before
    taken from `readings`, scans read by `ocr` (and its cache)."""
    if signatures is None:
        return analyse(message, settings, None, readings, plain_only=plain_only, ocr=ocr)
    checker = TimedChecking(checkers.checker(signatures))
    analysis = analyse(message, settings, checker, readings, plain_only=plain_only, ocr=ocr)
    return replace(analysis, signature_seconds=checker.seconds)
