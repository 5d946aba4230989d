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
import io
import re
from typing import BinaryIO

from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.misc import PDF_WHITESPACE

_PYHANKO = generic.read_hex_string_from_stream
_PLAIN = re.compile(b"[0-9A-Fa-f" + re.escape(PDF_WHITESPACE) + b"]*")
_CHUNK = 64 * 1024


def read_hex_string(stream: BinaryIO) -> generic.ByteStringObject | generic.TextStringObject:
    """What `read_hex_string_from_stream` reads at `stream`'s `<`, leaving the stream just
    after the closing `>` as it does. Read a block at a time, each block checked before
    the next is read: at the first byte that is not plain, pyHanko's reader takes over."""
    start = stream.tell()
    pieces: list[bytes] = []
    skip = 1  # the `<`
    while True:
        block = stream.read(_CHUNK)
        end = block.find(b">", skip)
        piece = block[skip:] if end < 0 else block[skip:end]
        if not block or not _PLAIN.fullmatch(piece):
            stream.seek(start)
            return _PYHANKO(stream)
        pieces.append(piece)
        if end >= 0:
            stream.seek(end + 1 - len(block), io.SEEK_CUR)
            break
        skip = 0
    digits = b"".join(pieces).translate(None, PDF_WHITESPACE)
    return generic.pdf_string(binascii.unhexlify(digits + b"0" * (len(digits) % 2)))


def install() -> None:
    """Have pyHanko's object reader read hex strings with `read_hex_string`."""
    generic.read_hex_string_from_stream = read_hex_string
