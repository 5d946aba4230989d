"""Extractions of documents seen before, reused by the hash of their bytes (issue 14).

Text extraction (pypdf, OCR, Office readers) is a pure function of a document's
bytes, its detected type, its declared charset and the extraction limits: the same
attachment sent again (to another recipient, forwarded, resent) is read once per
analysis process, whatever the policy. What depends on the policy (markings, document
type) is kept apart, by `gateway.analysis.readings`, until the policy changes. Results
that say the content could not be inspected are not kept: a time-out or a missing OCR
engine may not happen next time.
"""

from __future__ import annotations

from collections.abc import Callable

from gateway.analysis.extract.model import Extraction
from gateway.analysis.settings import AnalysisLimits
from gateway.signatures.cache import VerdictCache

MAX_DOCUMENTS = 512
MAX_CHARACTERS = 2_000_000  # at most 4-8 MB of text (Vietnamese is 2 bytes a character)
FOREVER = float("inf")


def extraction_size(extraction: Extraction) -> int:
    """What an extraction weighs in the caches: the characters of its text and problems."""
    return len(extraction.text) + sum(len(problem) for problem in extraction.problems)


class TextCache:
    """At most `max_documents` extractions holding at most `max_characters` in all."""

    def __init__(self, max_documents: int = MAX_DOCUMENTS,
                 max_characters: int = MAX_CHARACTERS) -> None:
        self.entries: VerdictCache[Extraction] = VerdictCache(
            max_documents, FOREVER, weigh=extraction_size, max_weight=max_characters)

    def extraction(self, sha256: str, detected_type: str, charset: str | None,
                   limits: AnalysisLimits, extract: Callable[[], Extraction]) -> Extraction:
        """The extraction of the bytes hashed to `sha256` (hex) seen before, else `extract()`
        (kept unless uninspectable; text and HTML parts are never kept: they cost less to
        read than to look up)."""
        if detected_type.startswith("text/"):
            return extract()
        key = (sha256, detected_type, charset or "", repr(limits))
        cached = self.entries.get(key)
        if cached is not None:
            return cached
        result = extract()
        if result.uninspectable is None:
            self.entries.put(key, result)
        return result
