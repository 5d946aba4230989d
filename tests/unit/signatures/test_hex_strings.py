"""PDF hex strings are read in one piece exactly as pyHanko reads them digit by digit."""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pyhanko.pdf_utils.misc import PdfStreamError

from gateway.signatures import hexstrings
from gateway.signatures.hexstrings import read_hex_string

PIECES = st.sampled_from([b"0", b"7", b"a", b"F", b"fe", b"FEFF", b"00", b"41", b" ", b"\n",
                          b"\r\n", b"\t", b"\x00", b"\x0c", b"%note\n", b"%", b"G", b"(",
                          b"<", b"\xff", b">", b"> tail"])


def _read(reader: object, data: bytes, at: int) -> tuple[str, object, int]:
    stream = io.BytesIO(data)
    stream.seek(at)
    try:
        found = reader(stream)  # type: ignore[operator]
    except Exception as exc:
        return type(exc).__name__, str(exc), -1
    return type(found).__name__, bytes(found.original_bytes), stream.tell()


@settings(max_examples=400, deadline=None)
@given(st.binary(max_size=4), st.lists(PIECES, max_size=40), st.binary(max_size=6))
def test_any_hex_string_reads_as_pyhanko_reads_it(
    before: bytes, pieces: list[bytes], after: bytes
) -> None:
    data = before + b"<" + b"".join(pieces) + after
    at = len(before)
    assert _read(read_hex_string, data, at) == _read(hexstrings._PYHANKO, data, at)


@pytest.mark.parametrize("data", [
    b"<>", b"<4>", b"<41 42\r\n43>", b"<FEFF0054>", b"<feff00e1>", b"<41%x>\n42>", b"<41",
    b"<4G>", b"<" + b"00" * 70_000 + b">rest", b"<" + b"0" * 70_001,
])
def test_odd_and_long_hex_strings_read_as_pyhanko_reads_them(data: bytes) -> None:
    assert _read(read_hex_string, data, 0) == _read(hexstrings._PYHANKO, data, 0)


INSTALLED = """
import io
from pyhanko.pdf_utils import generic
import gateway.signatures.checker
from gateway.signatures.hexstrings import read_hex_string
assert generic.read_hex_string_from_stream is read_hex_string
print(generic.read_object(io.BytesIO(b"<FEFF00480075>"), None))
"""


def test_the_signature_checker_has_pyhanko_read_hex_strings_with_it() -> None:
    """In a fresh interpreter: importing the checker, as an analysis worker does, is
    enough (no test here has installed it before)."""
    root = Path(__file__).resolve().parents[3]
    run = subprocess.run([sys.executable, "-c", INSTALLED], capture_output=True, text=True,
                         cwd=root, timeout=120, check=False)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "Hu"


class _Counting(io.BytesIO):
    def __init__(self, data: bytes) -> None:
        super().__init__(data)
        self.handed_out = 0

    def read(self, size: int | None = -1) -> bytes:
        block = super().read(size)
        self.handed_out += len(block)
        return block


@pytest.mark.parametrize("junk", [b"Z", b"("])
def test_a_long_string_that_is_not_plain_goes_to_pyhanko_at_its_first_block(junk: bytes) -> None:
    """Read a block at a time and checked as read: a crafted PDF with megabytes of
    anything after a `<` costs one block, not a scan (and copies) of all of it."""
    data = b"<" + junk * (8 << 20) + b">"
    stream = _Counting(data)
    found = _read(read_hex_string, data, 0)
    assert found == _read(hexstrings._PYHANKO, data, 0)
    with pytest.raises(PdfStreamError):  # pyHanko's own error, at the first bad byte
        read_hex_string(stream)
    assert stream.handed_out <= 2 * hexstrings._CHUNK + 1024
