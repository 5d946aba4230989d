"""The DATA stream checker alone (gateway/smtp/dataread.py): the end of data, the checks
across block boundaries, the bytes kept in wire form, and pipelined commands given back."""

from __future__ import annotations

import asyncio
import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.config import OwnHeaderSettings
from gateway.mail.ownheaders import HeaderFilter
from gateway.mail.spool import Spool, stuff, unstuff
from gateway.smtp.dataread import DataProblem, DataResult, read_data

NEXT_COMMAND = b"QUIT\r\n"


def read(pieces: list[bytes], *, max_size: int = 1 << 20, max_line: int = 998,
         check_header_8bit: bool = False,
         headers: HeaderFilter | None = None) -> tuple[DataResult, bytes, bytes]:
    """Feed `pieces` one read at a time; (result, spooled bytes, bytes left for commands)."""

    async def run() -> tuple[DataResult, bytes, bytes]:
        reader = asyncio.StreamReader()

        async def feed() -> None:
            for piece in pieces:
                reader.feed_data(piece)
                await asyncio.sleep(0)
            reader.feed_eof()

        feeder = asyncio.create_task(feed())
        spool = Spool(threshold=1 << 30)
        try:
            result = await read_data(reader, spool, max_size=max_size, max_line=max_line,
                                     check_header_8bit=check_header_8bit,
                                     on_block=lambda: None, headers=headers)
        finally:
            await feeder
        return result, spool.getvalue(), await reader.read()

    return asyncio.run(run())


def cut(data: bytes, points: list[int]) -> list[bytes]:
    """`data` in pieces at `points` (any positions, even inside CRLF or the terminator)."""
    edges = sorted({0, len(data), *(p % (len(data) + 1) for p in points)})
    return [data[a:b] for a, b in itertools.pairwise(edges)]


LINES = st.lists(st.sampled_from([b"", b".", b"..", b".x", b"Subject: a", b"body", b"x" * 70]),
                 min_size=1, max_size=30)


@settings(max_examples=150, deadline=None)
@given(LINES, st.lists(st.integers(min_value=0), max_size=8))
def test_any_split_reads_the_message_up_to_its_terminator(
    lines: list[bytes], points: list[int]
) -> None:
    wire = stuff(b"\r\n".join(lines) + b"\r\n")
    result, spooled, rest = read(cut(wire + b".\r\n" + NEXT_COMMAND, points))
    assert result.problem is DataProblem.NONE
    assert spooled == wire  # still dot-stuffed, CRLF: relayed as it came
    assert unstuff(spooled) == b"\r\n".join(lines) + b"\r\n"
    assert result.size == len(wire)
    assert rest == NEXT_COMMAND


@pytest.mark.parametrize("bad", [b"a\nb\r\n", b"a\rb\r\n", b"a\r\n\n.\n", b"a\r"])
@pytest.mark.parametrize("at", [0, 1, 2, 3])
def test_a_bare_cr_or_lf_anywhere_refuses_the_message_after_its_real_end(
    bad: bytes, at: int
) -> None:
    wire = b"Subject: x\r\n\r\n" + bad + b"\r\nafter\r\n"
    result, _, rest = read(cut(wire + b".\r\n" + NEXT_COMMAND, [len(wire) - 10 + at]))
    assert result.problem is DataProblem.BARE_LINE_ENDING
    assert rest == NEXT_COMMAND  # the end is the real CRLF.CRLF, not the bare one


def test_nul_long_lines_and_eight_bit_headers_are_named() -> None:
    assert read([b"a\x00b\r\n.\r\n"])[0].problem is DataProblem.NUL
    line = b"x" * 998
    assert read([line[:500], line[500:] + b"\r\n.\r\n"])[0].problem is DataProblem.NONE
    longer = line + b"y"
    assert read([longer[:500], longer[500:] + b"\r\n.\r\n"])[0].problem is (
        DataProblem.LINE_TOO_LONG)
    eight_bit = "Subject: Giấy mời\r\n\r\nNội dung\r\n.\r\n".encode()
    assert read([eight_bit], check_header_8bit=True)[0].problem is (
        DataProblem.EIGHT_BIT_HEADER)
    assert read([eight_bit], check_header_8bit=False)[0].problem is DataProblem.NONE
    body_only = "Subject: x\r\n\r\nNội dung\r\n.\r\n".encode()
    assert read([body_only[:13], body_only[13:]], check_header_8bit=True)[0].problem is (
        DataProblem.NONE)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=2200), min_size=1, max_size=12),
       st.integers(min_value=1, max_value=1200),
       st.lists(st.integers(min_value=0), max_size=6))
def test_a_line_over_the_limit_is_found_wherever_it_lies(
    lengths: list[int], max_line: int, points: list[int]
) -> None:
    wire = b"".join(b"x" * length + b"\r\n" for length in lengths)
    result = read(cut(wire + b".\r\n", points), max_line=max_line)[0]
    expected = (DataProblem.LINE_TOO_LONG if max(lengths) > max_line else DataProblem.NONE)
    assert result.problem is expected


def test_too_big_is_counted_to_the_end_and_not_spooled_past_the_limit() -> None:
    wire = b"x" * 60 + b"\r\n"
    result, spooled, rest = read([wire * 10, b".\r\n" + NEXT_COMMAND], max_size=100)
    assert result.problem is DataProblem.TOO_BIG
    assert result.size == len(wire) * 10
    assert len(spooled) <= 100
    assert rest == NEXT_COMMAND


def test_the_gateways_own_headers_are_taken_out_on_entry() -> None:
    wire = b"X-TTH-Policy: action=accept\r\nSubject: x\r\n\r\nbody\r\n"
    result, spooled, _ = read([wire[:9], wire[9:] + b".\r\n"],
                              headers=HeaderFilter(OwnHeaderSettings().namespace()))
    assert result.own_headers == ("X-TTH-Policy",)
    assert not spooled.startswith(b"X-TTH-Policy:")  # a forged verdict never passes on
    assert spooled.endswith(b"Subject: x\r\n\r\nbody\r\n")


def test_a_client_gone_before_the_end_is_an_incomplete_read() -> None:
    with pytest.raises(asyncio.IncompleteReadError):
        read([b"Subject: x\r\n\r\nno end"])
