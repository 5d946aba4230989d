"""The descriptive header fields of a MIME entity: a stamp can stand there as in a subject.

Content-Description (RFC 2045) labels a part, Comments and Keywords (RFC 5322)
a message or a part; mail clients show them. Values come decoded by the
header registry (RFC 2047), NFC. Subjects of nested messages and file names
are read elsewhere (`headers`, `walk`).
"""

from __future__ import annotations

from email.message import Message

from gateway.analysis.encoded import eight_bit_text
from gateway.analysis.vietnamese import nfc

DESCRIPTIVE_FIELDS = ("content-description", "comments", "keywords")


def descriptive_headers(part: Message, path: str) -> list[tuple[str, str, str]]:
    """(`path`, lowercase field name, decoded value) for each descriptive field of `part`."""
    found = []
    for name in DESCRIPTIVE_FIELDS:
        for value in part.get_all(name, ()):
            text = eight_bit_text(str(value))
            if text.strip():
                found.append((path, name, nfc(" ".join(text.split()))))
    return found
