"""Read SMTP DATA in blocks: find the end `CRLF.CRLF` with bytes searches, never line by line.

The terminator is recognised only as `<CRLF>.<CRLF>`. Any bare CR or bare LF
in the data, or a NUL byte, makes the whole message refused after its real
end, so that no server behind the gateway can ever find an end of data the
gateway did not see (SMTP smuggling). The bytes stay in wire form (still
dot-stuffed, CRLF) so they can be relayed as they came.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum

from gateway.mail.ownheaders import HeaderFilter
from gateway.mail.spool import Spool

TERMINATOR = b"\r\n.\r\n"
BLOCK = 256 * 1024
_HOLD = len(TERMINATOR) - 1
#: Every byte but CR and LF: what is left of a block without them is its CRs and LFs.
_NOT_LINE_ENDS = bytes(byte for byte in range(256) if byte not in b"\r\n")


class DataProblem(Enum):
    NONE = "none"
    TOO_BIG = "too big"
    BARE_LINE_ENDING = "bare CR or LF"
    NUL = "NUL byte"
    LINE_TOO_LONG = "line too long"
    EIGHT_BIT_HEADER = "8-bit header without SMTPUTF8"


#: The client's reply for each problem: a clear 5xx, never a 4xx loop.
PROBLEM_REPLIES: dict[DataProblem, tuple[int, str, str]] = {
    DataProblem.TOO_BIG: (552, "5.3.4", "Message size exceeds fixed maximum message size"),
    DataProblem.BARE_LINE_ENDING: (
        554,
        "5.6.0",
        "Bare CR or LF in message data; lines must end with CRLF (RFC 5321 2.3.8)",
    ),
    DataProblem.NUL: (554, "5.6.0", "NUL byte in message data"),
    DataProblem.LINE_TOO_LONG: (554, "5.6.0", "Line too long (RFC 5322 2.1.1)"),
    DataProblem.EIGHT_BIT_HEADER: (
        554,
        "5.6.7",
        "Non-ASCII message header without SMTPUTF8 (RFC 6532)",
    ),
}


@dataclass(slots=True)
class DataResult:
    """`own_headers`: fields of the gateway's namespace removed or renamed on entry."""

    problem: DataProblem
    size: int
    own_headers: tuple[str, ...] = ()


class _Checker:
    """Checks the body bytes as they stream past, across block boundaries."""

    def __init__(self, max_line: int, check_header_8bit: bool) -> None:
        self.max_run = max_line + 1
        self.in_header = check_header_8bit
        self.header_tail = b"\r\n"
        self.pending_cr = False
        self.run = 0
        self.problem = DataProblem.NONE

    def feed(self, data: bytes) -> None:
        if self.problem is not DataProblem.NONE or not data:
            return
        block = b"\r" + data if self.pending_cr else data
        self.pending_cr = block.endswith(b"\r")
        if self.pending_cr:
            block = block[:-1]
        crlf = block.count(b"\r\n")
        if len(block.translate(None, _NOT_LINE_ENDS)) != 2 * crlf:  # a CR or LF not in a pair
            self.problem = DataProblem.BARE_LINE_ENDING
        elif b"\x00" in block:
            self.problem = DataProblem.NUL
        elif self._longest_run(block) > self.max_run:
            self.problem = DataProblem.LINE_TOO_LONG
        elif self.in_header and not self._header_is_ascii(block):
            self.problem = DataProblem.EIGHT_BIT_HEADER

    def _longest_run(self, block: bytes) -> int:
        """Longest stretch between LFs, counting the line carried over from before."""
        first = block.find(b"\n")
        if first < 0:
            self.run += len(block)
            return self.run
        longest = self.run + first
        last = block.rfind(b"\n")
        if last - first > self.max_run and self._may_hold_long_line(block, first + 1, last):
            longest = max(longest, max(map(len, block[first + 1 : last].split(b"\n"))))
        self.run = len(block) - last - 1
        return max(longest, self.run)

    def _may_hold_long_line(self, block: bytes, start: int, end: int) -> bool:
        """Whether `block[start:end]` (between two LFs) may hold a line over the limit.

        Cut into windows of half the limit: a stretch without LF longer than the limit
        covers one window whole, so if every window holds an LF no line is too long
        (a few hundred `find`s per block instead of splitting it into its lines).
        """
        width = (self.max_run + 1) // 2
        find = block.find
        return any(find(b"\n", at, at + width) < 0 for at in range(start, end - width + 1, width))

    def _header_is_ascii(self, block: bytes) -> bool:
        search = self.header_tail + block
        end = search.find(b"\r\n\r\n")
        if end >= 0:
            self.in_header = False
            return search[:end].isascii()
        self.header_tail = search[-3:]
        return search.isascii()

    def finish(self) -> DataProblem:
        if self.pending_cr and self.problem is DataProblem.NONE:
            self.problem = DataProblem.BARE_LINE_ENDING
        return self.problem


def _unread(reader: asyncio.StreamReader, data: bytes) -> None:
    """Give pipelined commands that followed the terminator back to the command reader.

    asyncio's StreamReader has no public unread; its buffer is a bytearray
    (stable since Python 3.4), so the bytes go back at its front.
    """
    if data:
        reader._buffer[0:0] = data  # type: ignore[attr-defined]


async def read_data(
    reader: asyncio.StreamReader,
    spool: Spool,
    *,
    max_size: int,
    max_line: int,
    check_header_8bit: bool,
    on_block: Callable[[], None],
    headers: HeaderFilter | None = None,
) -> DataResult:
    """Read one message up to its terminator into `spool`.

    Raises `asyncio.IncompleteReadError` when the client goes away first.
    `on_block` is called after every block read (to restart the data timeout).
    The checks see the bytes as received; the spool gets them through `headers`
    (the gateway's own header namespace taken out), when given.
    """
    checker = _Checker(max_line, check_header_8bit)
    held = b"\r\n"
    skip = len(held)
    total = 0
    while True:
        chunk = await reader.read(BLOCK)
        if not chunk:
            raise asyncio.IncompleteReadError(b"", None)
        on_block()
        window = held + chunk
        end = window.find(TERMINATOR)
        if end >= 0:
            body = window[skip : end + 2]
            _unread(reader, window[end + len(TERMINATOR) :])
        else:
            out_len = max(0, len(window) - _HOLD)
            held = window[out_len:]
            drop = min(skip, out_len)
            skip -= drop
            body = window[drop:out_len]
        total += len(body)
        if total <= max_size:
            checker.feed(body)
            spool.write(headers.feed(body) if headers is not None else body)
        if end >= 0:
            break
    if headers is None:
        found: tuple[str, ...] = ()
    else:
        spool.write(headers.finish())
        found = tuple(headers.found)
    problem = DataProblem.TOO_BIG if total > max_size else checker.finish()
    return DataResult(problem, total, found)
