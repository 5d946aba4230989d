"""Text of an RTF document (striprtf), within the policy's limits."""

from __future__ import annotations

import codecs
import re

from striprtf.striprtf import rtf_to_text

from gateway.analysis.extract.model import Extraction
from gateway.analysis.settings import AnalysisLimits

#: RTF read per character of text wanted: room for the font table, styles and a logo.
_SOURCE_PER_CHAR = 50
_CODE_PAGE = re.compile(rb"\\ansicpg(\d{3,5})")


def rtf_text(data: bytes, limits: AnalysisLimits) -> Extraction:
    """The text of the first `_SOURCE_PER_CHAR × text_chars` bytes; \\'hh escapes read in the
    document's code page (\\ansicpg, Windows-1258 for Vietnamese Word), \\uN as Unicode. A
    longer document whose text ran out before the cut is uninspectable: the rest is unread."""
    cut = limits.text_chars * _SOURCE_PER_CHAR
    source = data[:cut].decode("latin-1")  # RTF is 7-bit; escapes carry everything else
    text: str = rtf_to_text(  # type: ignore[no-untyped-call]
        source, encoding=_code_page(data), errors="replace")
    if len(data) > cut and len(text) < limits.text_chars:
        return Extraction(text, uninspectable=f"RTF document larger than {cut} bytes")
    return Extraction(text[: limits.text_chars])


def _code_page(data: bytes) -> str:
    found = _CODE_PAGE.search(data[:4096])
    if found is None:
        return "cp1252"  # RTF's default ANSI code page
    name = f"cp{found.group(1).decode()}"
    try:
        codecs.lookup(name)
    except LookupError:
        return "cp1252"
    return name
