"""The OCR one message may spend: pages rendered and read, and seconds, over all its scans.

`analyse` makes a budget for each message (`OcrBudget.for_message`) and hands it, with the
OCR engine, to the extractors (`ocr.MessageOcr`); the engine takes its pages from it and
stops its processes at its end. A message whose scans would need more leaves the rest
uninspectable (the policy's outcome for unreadable documents), instead of running into the
analysis time limit, which kills the worker and leaves the whole message unanalysable.
Pages read from the OCR cache cost nothing. Outside `analyse` (a test, a tool reading one
document) there is no budget.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from gateway.analysis.settings import AnalysisLimits


@dataclass(slots=True)
class OcrBudget:
    """Pages still to be read, and the monotonic time at which OCR stops, for one message."""

    pages: int
    until: float
    limits: str  # the limits, as said in the reason

    @classmethod
    def for_message(cls, limits: AnalysisLimits) -> OcrBudget:
        """A fresh budget, starting now, for one message analysed under `limits`."""
        return cls(limits.ocr_message_pages, time.monotonic() + limits.ocr_message_seconds,
                   f"{limits.ocr_message_pages} pages, {limits.ocr_message_seconds:g} s")

    def take(self, pages: int) -> str | None:
        """Spend `pages`, or say why they cannot be read."""
        if pages > self.pages or time.monotonic() >= self.until:
            return f"the message's OCR limit is reached ({self.limits})"
        self.pages -= pages
        return None
