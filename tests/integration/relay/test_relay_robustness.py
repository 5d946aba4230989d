"""Input that is not UTF-8, and a failure inside the gateway: a clear reply, no leak, no 500."""

from __future__ import annotations

import logging
import smtplib
import socket
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from gateway.deciding.seam import TransactionDecider
from gateway.service.serve import Gateway
from tests.support.sink import Sink
from tests.support.wire import Wire


def test_non_utf8_arguments_are_refused_without_holding_upstream_connections(
    sink: Sink, gateway: tuple[str, int]
) -> None:
    before = sink.connections
    with Wire(gateway) as wire:
        assert wire.reply().code == 220
        assert wire.command(b"EHLO \xff.example").code == 250
        for _ in range(5):
            refused = wire.command(b"MAIL FROM:<\xffa@example.org>")
            assert (refused.code, refused.text.split()[0]) == (553, "5.1.7")
        assert wire.command(b"MAIL FROM:<a@example.org>").code == 250
        refused = wire.command(b"RCPT TO:<\xfe@hue.gov.vn>")
        assert (refused.code, refused.text.split()[0]) == (553, "5.1.3")
        assert wire.command(b"RCPT TO:<b@hue.gov.vn>").code == 250
        assert wire.command(b"DATA").code == 354
        wire.send(b"Subject: t\r\n\r\nbody\r\n.\r\n")
        assert wire.reply().code == 250
    assert sink.connections == before + 1
    assert sink.messages[-1].rcpt_tos == ["b@hue.gov.vn"]


class _Broken:
    """A decider with a bug: it raises where no step expects it."""

    def begin(self) -> TransactionDecider:
        raise RuntimeError("bug in the decider")


def test_an_unexpected_error_is_a_temporary_failure_not_a_bounce(
    sink: Sink, gateway_at: Callable[..., Gateway]
) -> None:
    address = gateway_at(sink.address, decider=_Broken()).addresses()[0]
    with smtplib.SMTP(*address) as client:
        client.ehlo("client.test")
        code, text = client.mail("a@example.org")
        assert (code, text.split()[0]) == (451, b"4.3.0")
        assert client.noop()[0] == 250
    assert sink.messages == []


def test_a_refused_mail_parameter_returns_the_connection_to_the_pool_once(
    gateway_at: Callable[..., Gateway]
) -> None:
    sink = Sink(smtputf8=False)
    sink.start()
    try:
        gateway = gateway_at(sink.address)
        with smtplib.SMTP(*gateway.addresses()[0]) as client:
            client.ehlo("client.test")
            for _ in range(3):
                code, _ = client.mail("người.gửi@x.test", ["SMTPUTF8"])
                assert code == 553
                client.rset()
        idle = gateway.upstream._idle  # type: ignore[attr-defined]
        assert len(idle) == len({id(connection) for connection in idle}) == 1
    finally:
        sink.stop()


def test_a_client_that_pipelines_a_transaction_and_shuts_its_side_is_served(
    sink: Sink, gateway: tuple[str, int], caplog: pytest.LogCaptureFixture
) -> None:
    """Everything in one write, then shutdown(SHUT_WR): each command still gets its answer
    (the message is relayed, QUIT says goodbye), and the connection then closes."""
    caplog.set_level(logging.INFO)
    with Wire(gateway) as wire:
        assert wire.reply().code == 220
        wire.send(b"EHLO client.test\r\nMAIL FROM:<a@x.test>\r\nRCPT TO:<b@x.test>\r\nDATA\r\n"
                  b"From: a@x.test\r\nSubject: half\r\n\r\nbody\r\n.\r\nQUIT\r\n")
        wire.sock.shutdown(socket.SHUT_WR)
        codes = [wire.reply().code for _ in range(6)]
        assert codes == [250, 250, 250, 354, 250, 221]
        assert wire.closed()
    assert [message.content.endswith(b"Subject: half\r\n\r\nbody\r\n")
            for message in sink.messages] == [True]
    assert [r for r in caplog.records if r.levelno >= logging.ERROR] == []


def test_a_client_that_shuts_its_side_without_quit_is_closed(
    sink: Sink, gateway: tuple[str, int]
) -> None:
    """Half a command line, or none, then the end: the connection closes at once (no wait
    for a timeout), and a transaction begun is not relayed."""
    for tail in (b"", b"RCPT TO:<b@x.test>", b"RCPT TO:<b@x.test>\r\nDATA\r\nSubject: x\r\n"):
        with Wire(gateway) as wire:
            wire.start()
            assert wire.command("MAIL FROM:<a@x.test>").code == 250
            wire.send(tail)
            wire.sock.shutdown(socket.SHUT_WR)
            assert wire.closed(wait=5)
    assert sink.messages == []


def test_a_message_that_cannot_be_spooled_ends_the_connection_not_read_as_commands(
    sink: Sink, gateway_at: Callable[..., Gateway], tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The spool cannot be written (its folder is a file): `421 4.3.0` and the connection
    closes. The rest of the message, commands written in its body included, is never
    read as commands."""
    not_a_folder = tmp_path / "spool"
    not_a_folder.write_text("a file")
    address = gateway_at(sink.address, spool_dir=str(not_a_folder),
                         spool_threshold=1024).addresses()[0]
    body = b"Subject: big\r\n\r\n" + b"x" * 2000 + b"\r\nRSET\r\nNOOP\r\nMAIL FROM:<z@x.test>\r\n"
    with Wire(address) as wire:
        wire.start()
        assert wire.command("MAIL FROM:<a@x.test>").code == 250
        assert wire.command("RCPT TO:<b@x.test>").code == 250
        assert wire.command("DATA").code == 354
        wire.send(body + b".\r\n")
        answer = wire.reply()
        assert (answer.code, answer.lines[0][:5]) == (421, "4.3.0")
        assert wire.closed()
    assert sink.messages == []
    assert any("could not be spooled" in record.getMessage() for record in caplog.records)


def test_a_client_that_shuts_its_side_and_stops_reading_is_let_go_once(
    gateway: tuple[str, int], caplog: pytest.LogCaptureFixture
) -> None:
    """160 000 NOOPs in one write, the sending side shut, nothing read: the replies fill
    the socket buffers with some left unsent, so the connection cannot finish closing. The
    gateway must still stop reading at once (one `client went away`), not loop on the end
    of input (38 000 such lines a second and a whole CPU before)."""
    caplog.set_level(logging.INFO)
    with socket.socket() as client:
        client.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 2048)
        client.connect(gateway)
        assert client.recv(1000).startswith(b"220")
        client.sendall(b"EHLO client.test\r\n" + b"NOOP\r\n" * 160_000)
        client.shutdown(socket.SHUT_WR)

        def gone() -> int:
            return sum("client went away" in r.getMessage() for r in caplog.records)

        deadline = time.monotonic() + 30
        while not gone() and time.monotonic() < deadline:
            time.sleep(0.1)
        time.sleep(1)
        assert 1 <= gone() <= 2, gone()
