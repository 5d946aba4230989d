"""What Tesseract read, remembered per analysis process, so that a scan sent again is not
read again.

The key is the SHA-256 of the PDF and the page number (what the rendered image, and so the
text, is a function of) together with everything else that changes what is read: the
engine's version and language data, the languages, the page segmentation mode and the
rendering resolution (`OcrEngine.identity`). Only successful readings are kept
(a failure or a time-out may not recur); the cache is bounded in entries and characters,
least recently used first out.
"""

from __future__ import annotations

import hashlib

from gateway.analysis.extract.cache import FOREVER
from gateway.signatures.cache import VerdictCache


def cache_key(identity: bytes, kind: bytes, *parts: bytes) -> str:
    """The hex SHA-256 of the engine identity, the kind of input and its bytes (each part
    length-prefixed, so that no two different inputs give the same byte string)."""
    digest = hashlib.sha256()
    for part in (identity, kind, *parts):
        digest.update(len(part).to_bytes(8, "big"))
        digest.update(part)
    return digest.hexdigest()


class OcrCache:
    """An LRU of page texts: at most `max_entries`, at most `max_chars` characters in all."""

    def __init__(self, max_entries: int = 256, max_chars: int = 2_000_000) -> None:
        self.entries: VerdictCache[str] = VerdictCache(
            max_entries, FOREVER, weigh=len, max_weight=max_chars)

    def __len__(self) -> int:
        return len(self.entries)

    @property
    def hits(self) -> int:
        return self.entries.hits

    @property
    def misses(self) -> int:
        return self.entries.misses

    def get(self, key: str) -> str | None:
        return self.entries.get((key,))

    def put(self, key: str, text: str) -> None:
        self.entries.put((key,), text)
