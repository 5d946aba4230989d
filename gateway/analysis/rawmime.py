"""Find an entity's parts in the bytes as received, for signatures over exact bytes.

The email package parses without keeping offsets, and re-serialising a part
changes bytes a signature covers; so the bodies of `multipart/signed` and
`message/rfc822` are cut out of the original bytes, along the boundary the
parser itself found (RFC 2046 §5.1.1: the line break before a delimiter
belongs to the delimiter).
"""

from __future__ import annotations

import re
from collections.abc import Iterator

_BLANK_LINE = re.compile(rb"\r?\n\r?\n")


def split_head(raw: bytes) -> tuple[bytes, bytes]:
    """The header block and the body of an entity (no blank line: all header)."""
    if raw.startswith(b"\r\n"):
        return b"", raw[2:]
    if raw.startswith(b"\n"):
        return b"", raw[1:]
    match = _BLANK_LINE.search(raw)
    if match is None:
        return raw, b""
    return raw[: match.start()], raw[match.end() :]


def raw_children(raw_entity: bytes, boundary: str) -> list[bytes]:
    """The complete bytes (headers and body) of each part of a multipart entity."""
    _, body = split_head(raw_entity)
    marker = b"--" + boundary.encode("utf-8", "surrogateescape")
    parts: list[bytes] = []
    start: int | None = None
    for line_start, line_end, closing in _delimiters(body, marker):
        if start is not None:
            cut = line_start - 2 if body[line_start - 2 : line_start] == b"\r\n" else line_start - 1
            parts.append(body[start : max(cut, start)])
        if closing:
            return parts
        start = line_end
    if start is not None:
        parts.append(body[start:])
    return parts


def _delimiters(body: bytes, marker: bytes) -> Iterator[tuple[int, int, bool]]:
    """(start of line, start of next line, closing?) of each delimiter line, in order."""
    position = body.find(marker)
    while position >= 0:
        at_line_start = position == 0 or body[position - 1 : position] == b"\n"
        after = position + len(marker)
        line_end = body.find(b"\n", after)
        line_end = len(body) if line_end < 0 else line_end + 1
        rest = body[after:line_end].rstrip(b"\r\n")
        closing = rest.startswith(b"--")
        padding = rest[2:] if closing else rest
        if at_line_start and not padding.strip(b" \t"):
            yield position, line_end, closing
        position = body.find(marker, after)
