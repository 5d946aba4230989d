"""PDF hex strings read in one piece: pyHanko's reader takes them one byte at a time.

A signature's /Contents is a hex string of thousands of digits (6 000 in the
benchmark's invitation, 2.9 ms to read), and pyHanko's `read_hex_string_from_stream`
reads it through one `read_non_whitespace` call per digit: about a fifth of validating
a signed PDF. `read_hex_string` reads the same
string in one piece when it holds nothing but hex digits and PDF white space up to its
`>`; anything else (a comment, a bad token, no `>` before the end) is read by pyHanko's
own function from the same place, so its errors and its odd cases stay pyHanko's.
`install` puts it in place of pyHanko's, which its object reader looks up on each call.
"""

from __future__ import annotations

import binascii
import re
from typing import BinaryIO

from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.misc import PDF_WHITESPACE

_PYHANKO = generic.read_hex_string_from_stream
_PLAIN = re.compile(b"[0-9A-Fa-f" + re.escape(PDF_WHITESPACE) + b"]*")
_CHUNK = 64 * 1024


def read_hex_string(stream: BinaryIO) -> generic.ByteStringObject | generic.TextStringObject:
    """What `read_hex_string_from_stream` reads at `stream`'s `<`, leaving the stream just
    after the closing `>` as it does."""
    start = stream.tell()
    data = stream.read(_CHUNK)
    end = data.find(b">", 1)
    while end < 0:
        more = stream.read(_CHUNK)
        if not more:
            break
        data += more
        end = data.find(b">", len(data) - len(more))
    body = data[1:end]
    if end < 0 or not _PLAIN.fullmatch(body):
        stream.seek(start)
        return _PYHANKO(stream)
    stream.seek(start + end + 1)
    digits = body.translate(None, PDF_WHITESPACE)
    return generic.pdf_string(binascii.unhexlify(digits + b"0" * (len(digits) % 2)))


def install() -> None:
    """Have pyHanko's object reader read hex strings with `read_hex_string`."""
    generic.read_hex_string_from_stream = read_hex_string
