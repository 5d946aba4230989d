"""SMTP smuggling: the upstream can never see an end of data the gateway did not see.

Each vector is sent raw inside DATA, followed by pipelined commands that would
make a second, smuggled message for a server that took the vector for the end.
"""

from __future__ import annotations

import pytest

from tests.support.sink import Sink
from tests.support.wire import Wire

HEAD = b"From: a@x.test\r\nTo: b@x.test\r\nSubject: first\r\n\r\nfirst body"
SMUGGLED = (
    b"MAIL FROM:<ceo@x.test>\r\n"
    b"RCPT TO:<victim@x.test>\r\n"
    b"DATA\r\n"
    b"From: ceo@x.test\r\nSubject: smuggled\r\n\r\nsmuggled body\r\n"
)
END = b"\r\n.\r\n"

VECTORS = [
    b"\n.\n",
    b"\n.\r\n",
    b"\r.\r",
    b"\r\n.\r",
    b"\r.\r\n",
    b"\r\n.\n",
    b"\r\n\x00.\r\n",
    b"\r\n.\x00\r\n",
    b"\n..\n",
    b"\r\r\n.\r\r\n",
    b"\r\n\r.\r\n",
    b"\r\n.\r\r\n",
    b"\r\n.\n\r\n",
]


def _envelope(wire: Wire) -> None:
    wire.start()
    assert wire.command("MAIL FROM:<a@x.test>").code == 250
    assert wire.command("RCPT TO:<b@x.test>").code == 250


@pytest.mark.parametrize("vector", VECTORS, ids=repr)
def test_smuggling_vector_refuses_the_whole_message(
    sink: Sink, gateway: tuple[str, int], vector: bytes
) -> None:
    with Wire(gateway) as wire:
        _envelope(wire)
        wire.send(b"DATA\r\n" + HEAD + vector + SMUGGLED + END + b"NOOP\r\nQUIT\r\n")
        assert wire.reply().code == 354
        refused = wire.reply()
        assert refused.code == 554, refused
        assert refused.lines[0].startswith("5.6.0"), refused
        assert wire.reply().code == 250  # NOOP: the session is still in step
        assert wire.reply().code == 221
    assert sink.messages == []


@pytest.mark.parametrize("vector", VECTORS, ids=repr)
def test_smuggling_vector_split_across_reads_is_refused(
    sink: Sink, gateway: tuple[str, int], vector: bytes
) -> None:
    data = HEAD + vector + SMUGGLED + END
    middle = len(HEAD) + len(vector) // 2 + 1
    with Wire(gateway) as wire:
        _envelope(wire)
        assert wire.command("DATA").code == 354
        wire.send_slowly(data, [len(HEAD), middle, len(HEAD) + len(vector)], pause=0.01)
        assert wire.reply().code == 554
        assert wire.command("QUIT").code == 221
    assert sink.messages == []


def test_real_terminator_right_after_a_bare_lf_ends_the_message_there(
    sink: Sink, gateway: tuple[str, int]
) -> None:
    """`\n\r\n.\r\n` holds a real end: what follows is commands, to gateway and upstream alike."""
    with Wire(gateway) as wire:
        _envelope(wire)
        wire.send(b"DATA\r\n" + HEAD + b"\n" + END + b"RSET\r\n" + SMUGGLED + END + b"QUIT\r\n")
        codes = [wire.reply().code for _ in range(7)]
    assert codes == [354, 554, 250, 250, 250, 354, 250]
    assert len(sink.messages) == 1
    (second,) = sink.messages
    assert (second.mail_from, second.rcpt_tos) == ("ceo@x.test", ["victim@x.test"])
    assert second.content.endswith(b"\r\n\r\nsmuggled body\r\n\r\n")
    assert b"first body" not in second.content


def test_pipelined_second_message_after_a_real_end_is_a_separate_transaction(
    sink: Sink, gateway: tuple[str, int]
) -> None:
    second = b"From: a@x.test\r\nSubject: second\r\n\r\nsecond body\r\n"
    with Wire(gateway) as wire:
        _envelope(wire)
        wire.send(
            b"DATA\r\n" + HEAD + END
            + b"MAIL FROM:<c@x.test>\r\nRCPT TO:<d@x.test>\r\nDATA\r\n" + second + b".\r\n"
            + b"QUIT\r\n"
        )
        codes = [wire.reply().code for _ in range(6)]
    assert codes == [354, 250, 250, 250, 354, 250]
    assert len(sink.messages) == 2
    first, other = sink.messages
    assert first.content.endswith(HEAD + b"\r\n")
    assert first.rcpt_tos == ["b@x.test"]
    assert other.rcpt_tos == ["d@x.test"]
    assert other.content.endswith(second)


@pytest.mark.parametrize(
    "cuts",
    [[1], [len(HEAD)], [len(HEAD) + 1], [len(HEAD) + 2], [len(HEAD) + 3], [len(HEAD) + 4]],
)
def test_real_terminator_split_across_reads_is_found(
    sink: Sink, gateway: tuple[str, int], cuts: list[int]
) -> None:
    with Wire(gateway) as wire:
        _envelope(wire)
        assert wire.command("DATA").code == 354
        wire.send_slowly(HEAD + END, cuts, pause=0.02)
        assert wire.reply().code == 250
    assert sink.messages[0].content.endswith(HEAD + b"\r\n")


def test_dot_stuffed_lines_are_relayed_as_sent(sink: Sink, gateway: tuple[str, int]) -> None:
    body = b"Subject: dots\r\n\r\n..\r\n...x\r\n.. \r\n..\r\n"
    with Wire(gateway) as wire:
        _envelope(wire)
        assert wire.command("DATA").code == 354
        wire.send(body + b".\r\n")
        assert wire.reply().code == 250
    assert sink.messages[0].content.endswith(b"Subject: dots\r\n\r\n.\r\n..x\r\n. \r\n.\r\n")
