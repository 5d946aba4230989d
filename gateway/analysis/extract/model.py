"""What a text extractor returns."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Extraction:
    """Extracted text; `uninspectable` says why the content could not be read at all."""

    text: str = ""
    uninspectable: str | None = None
    problems: tuple[str, ...] = ()
