"""What reading a leaf yields, and the readings an analysis process keeps (issue 14).

A leaf's reading (its text, document type and markings) depends on nothing but its
bytes, what the walk found about it (detected type, charset, place, file names, body
or attachment, and the subject when the subject may speak for it) and the policy's
classifiers. An analysis process keeps the readings of the leaves it read by all of
these, while the classifiers stay the same: a letter or a document sent again (to
other recipients, forwarded, resent) is judged once. Other classifiers (a reloaded
policy) empty it; the texts, which do not depend on the policy, stay in `texts`.
Readings that say the content could not be inspected are not kept: a time-out or a
missing OCR engine may not happen next time.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from dataclasses import dataclass

from gateway.analysis.doctype import TypeFinding, TypeTable
from gateway.analysis.extract.cache import (
    FOREVER,
    MAX_CHARACTERS,
    MAX_DOCUMENTS,
    TextCache,
    extraction_size,
)
from gateway.analysis.extract.model import Extraction
from gateway.analysis.markings import MarkingRules, MarkingScan
from gateway.analysis.settings import AnalysisLimits
from gateway.signatures.cache import VerdictCache


@dataclass(frozen=True, slots=True)
class Classifiers:
    """The compiled policy parts one document is judged by."""

    types: TypeTable
    rules: MarkingRules
    limits: AnalysisLimits


@dataclass(frozen=True, slots=True)
class Reading:
    """What a leaf yielded before signatures: text, type and markings."""

    extraction: Extraction
    finding: TypeFinding
    scan: MarkingScan
    sha256: str  # of the leaf's bytes, hex: the caches' key and the document's hash


def _size(reading: Reading) -> int:
    return extraction_size(reading.extraction)


class ReadingCache:
    """At most `max_documents` readings holding at most `max_characters` of text in all,
    under one set of classifiers; `texts`, the extractions kept across policies. One
    thread uses it: an analysis child's, or the event loop's for inline analysis."""

    def __init__(self, max_documents: int = MAX_DOCUMENTS,
                 max_characters: int = MAX_CHARACTERS, texts: TextCache | None = None) -> None:
        self.texts = texts if texts is not None else TextCache()
        self.entries: VerdictCache[Reading] = VerdictCache(
            max_documents, FOREVER, weigh=_size, max_weight=max_characters)
        self._classifiers: Classifiers | None = None

    def reading(self, key: tuple[Hashable, ...], classifiers: Classifiers,
                read: Callable[[], Reading]) -> Reading:
        """The reading under `key` kept from a message judged by the same `classifiers`,
        else `read()` (kept unless uninspectable)."""
        self._judged_by(classifiers)
        cached = self.entries.get(key)
        if cached is not None:
            return cached
        result = read()
        if result.extraction.uninspectable is None:
            self.entries.put(key, result)
        return result

    def _judged_by(self, classifiers: Classifiers) -> None:
        """Forget the readings judged by other classifiers (another policy)."""
        if classifiers is not self._classifiers and classifiers != self._classifiers:
            self.entries.clear()
        self._classifiers = classifiers
