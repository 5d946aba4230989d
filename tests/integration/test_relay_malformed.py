"""Malformed addresses are permanent errors (501/553 5.1.3), never a 451 and a traceback."""

from __future__ import annotations

import logging

import pytest

from tests.support import accept
from tests.support.sink import Sink
from tests.support.wire import Wire

gateway = accept.gateway
gateway_at = accept.gateway_at

MALFORMED = [
    b"u@", b"<u@", b'"a"@', b"<a@[>", b"a@[", b"<a@[IPv6:::1>", b"<a@[1.2.3]>",
    b"<a@[IPv6:zz::1]>", b"<a@[300.1.1.1]>", b"<@>", b"<a@b@c>", b"<a@b", b"<a@(b>",
]


def _no_errors_logged(caplog: pytest.LogCaptureFixture) -> None:
    bad = [record for record in caplog.records if record.levelno >= logging.ERROR
           or record.exc_info]
    assert not bad, [record.getMessage() for record in bad]


@pytest.mark.parametrize("address", MALFORMED)
def test_malformed_sender_is_553_5_1_3(
    sink: Sink, gateway: tuple[str, int], address: bytes, caplog: pytest.LogCaptureFixture
) -> None:
    with Wire(gateway) as wire:
        wire.start()
        answer = wire.command(b"MAIL FROM:" + address)
        assert (answer.code, answer.lines[0][:5]) == (553, "5.1.3"), answer
        assert wire.command("MAIL FROM:<a@x.test>").code == 250  # the session goes on
    _no_errors_logged(caplog)


@pytest.mark.parametrize("address", MALFORMED)
def test_malformed_recipient_is_553_5_1_3(
    sink: Sink, gateway: tuple[str, int], address: bytes, caplog: pytest.LogCaptureFixture
) -> None:
    with Wire(gateway) as wire:
        wire.start()
        assert wire.command("MAIL FROM:<a@x.test>").code == 250
        answer = wire.command(b"RCPT TO:" + address)
        assert (answer.code, answer.lines[0][:5]) == (553, "5.1.3"), answer
        assert wire.command("RCPT TO:<b@x.test>").code == 250
    _no_errors_logged(caplog)


@pytest.mark.parametrize("argument", [b"u@", b'"a"@', b"<a@[>", b"<\xff@x", b"<\xfe\xff"])
def test_malformed_vrfy_is_501_5_1_3_and_not_echoed(
    sink: Sink, gateway: tuple[str, int], argument: bytes, caplog: pytest.LogCaptureFixture
) -> None:
    with Wire(gateway) as wire:
        wire.start()
        answer = wire.command(b"VRFY " + argument)
        assert (answer.code, answer.lines[0][:5]) == (501, "5.1.3"), answer
        assert wire.command("NOOP").code == 250
    _no_errors_logged(caplog)


def test_valid_domain_literals_are_accepted(sink: Sink, gateway: tuple[str, int]) -> None:
    with Wire(gateway) as wire:
        wire.start()
        assert wire.command("MAIL FROM:<a@[192.0.2.1]>").code == 250
        assert wire.command("RCPT TO:<b@[IPv6:2001:db8::1]>").code == 250
