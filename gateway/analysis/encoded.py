"""RFC 2047 encoded words, decoded by the email library's header registry.

`policy.default`'s unstructured-header parser decodes a Subject as mail
clients show it: adjacent encoded words separated by folding whitespace are
joined without a space (RFC 2047 §6.2), a multi-byte UTF-8 character split
across two words is reassembled, charsets may change from word to word, Q and
B mix. Its structured (address) parser does not do the first two inside a
display name ("Thừa Thiên Hu ế", or lone surrogates), so `join_encoded_runs`
hands each run of adjacent encoded words to the unstructured parser and puts
the result back as one UTF-8 encoded word, which the address parser then reads
whole. That is the only decoding done here; everything else is the library's.
"""

from __future__ import annotations

import re
import unicodedata
from email.base64mime import header_encode

from gateway.mail.headers import HEADER_FACTORY

_WORD = r"=\?[^?\s\"]+\?[bBqQ]\?[^?\s]*\?="
_RUN = re.compile(rf"{_WORD}(?:[ \t]*{_WORD})+")


def decode_unstructured(raw: str) -> str:
    """The text of an unstructured header value (RFC 2047 decoded as mail clients show it)."""
    return str(HEADER_FACTORY("x-unstructured", raw))


def eight_bit_text(text: str) -> str:
    """Header text whose raw 8-bit bytes the parser kept as surrogates, decoded as UTF-8,
    else as Windows-1258 (the legacy Vietnamese Windows code page), NFC."""
    if text.isascii() or not any("\udc80" <= char <= "\udcff" for char in text):
        return text
    data = text.encode("utf-8", "surrogateescape")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return unicodedata.normalize("NFC", data.decode("cp1258", "replace"))


def join_encoded_runs(raw: str) -> str:
    """Unfolded `raw` with each run of adjacent encoded words made one UTF-8 encoded word.

    Words written without the whitespace RFC 2047 asks for between them are a
    run too: mail clients join them.
    """
    return _RUN.sub(lambda run: _one_word(decode_unstructured(run.group(0))), raw)


def _one_word(text: str) -> str:
    return header_encode(text.encode(), "utf-8")
