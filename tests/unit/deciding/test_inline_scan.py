"""`may_analyse_inline` searches literal bytes; it decides as the regular expression it
replaced (kept here as the reference) on the inline tests' messages, the bench's, and
every header line below spliced into them."""

from __future__ import annotations

import itertools
import re

from bench.realistic_messages import letter
from gateway.deciding.decider import (
    INLINE_DELIMITERS,
    INLINE_ENTITIES,
    INLINE_LIMIT,
    may_analyse_inline,
)
from tests.unit.deciding.test_inline_analysis import HIDDEN, INLINE, NOT_INLINE

_NOT_TEXT = re.compile(
    rb"^content-type:[ \t]*+(?!text/|multipart/(?:mixed|alternative|related)\b)"
    rb"|^content-transfer-encoding:[ \t]*+(?!(?:7bit|8bit|base64|quoted-printable)\b)"
    rb"|^content-disposition:|name\*?[0-9]*\*?="
    rb"|^begin [0-7]{3} |%PDF-|PK\x03\x04",
    re.I | re.M,
)
_CONTENT_TYPE = re.compile(rb"^content-type:", re.I | re.M)


def reference(wire: bytes) -> bool:
    """The regular-expression check as it was."""
    return (len(wire) <= INLINE_LIMIT
            and wire.count(b"\n--") <= INLINE_DELIMITERS
            and len(_CONTENT_TYPE.findall(wire)) <= INLINE_ENTITIES
            and _NOT_TEXT.search(wire) is None)


LINES = [
    b"Content-Type: text/plain", b"content-type:TEXT/HTML", b"Content-Type:\t \tmultipart/mixed",
    b"Content-Type: multipart/mixedx", b"Content-Type: multipart/related;", b"Content-Type: text",
    b"Content-Type: multipart/alternative_", b"Content-Type: application/pdf", b"Content-Type:",
    b"Content-Type: multipart/signed", b" Content-Type: application/pdf", b"CONTENT-TYPE: Text/",
    b"Content-Transfer-Encoding: BASE64", b"Content-Transfer-Encoding: base64x",
    b"Content-Transfer-Encoding:8bit", b"Content-Transfer-Encoding: x-uuencode",
    b"Content-Transfer-Encoding: 7bit-", b"Content-Transfer-Encoding: quoted-printable",
    b"Content-Disposition: inline", b"X-Content-Disposition: inline", b"begin 644 a.pdf",
    b"begin 64 a", b"begin 648 a", b"BEGIN 600 x", b" begin 644 a", b"begin 6445", b"%pdf-1.4",
    b"%PDF", b"pk\x03\x04", b"PK\x03", b"name=a", b"NAME*=x", b"name*0*=u", b"name12=",
    b"name**=", b"name*1", b"filename = a", b"hostname=x", b"name0*0=", b"nam=e",
]


def variants() -> list[bytes]:
    """Each message with each line, and each pair of lines, added before its body."""
    messages = [*INLINE.values(), *NOT_INLINE.values(), *HIDDEN.values(), letter()]
    found = list(messages)
    for message, lines in itertools.product(
            messages[:4] + messages[-1:], [*([line] for line in LINES),
                                           *itertools.combinations(LINES[::3], 2)]):
        head, _, body = message.partition(b"\r\n\r\n")
        found.append(head + b"\r\n" + b"\r\n".join(lines) + b"\r\n\r\n" + body)
        found.append(message + b"\r\n".join(lines))
        found.append(message + b"\n" + lines[0][:-1])
        found.append(lines[0])
    return found


def test_the_byte_search_decides_as_the_regular_expression() -> None:
    decisions = []
    for wire in variants():
        decisions.append(may_analyse_inline(wire))
        assert decisions[-1] == reference(wire), wire[-300:]
    assert decisions.count(True) > 300 and decisions.count(False) > 300
