"""Malformed addresses are permanent errors (501/553 5.1.3), never a 451 and a traceback."""

from __future__ import annotations

import logging

import pytest

from tests.support.sink import Sink
from tests.support.wire import MALFORMED, Wire

MAIL = ("MAIL FROM:", [], (553, "5.1.3"), "MAIL FROM:<a@x.test>")
RCPT = ("RCPT TO:", ["MAIL FROM:<a@x.test>"], (553, "5.1.3"), "RCPT TO:<b@x.test>")
VRFY = ("VRFY ", [], (501, "5.1.3"), "NOOP")
CASES = [
    *((*MAIL, address) for address in MALFORMED),
    *((*RCPT, address) for address in MALFORMED),
    *((*VRFY, argument) for argument in (b"u@", b'"a"@', b"<a@[>", b"<\xff@x", b"<\xfe\xff")),
]


@pytest.mark.parametrize(("verb", "before", "expected", "after", "argument"), CASES)
def test_malformed_address_is_a_permanent_error_and_the_session_goes_on(
    sink: Sink, gateway: tuple[str, int], caplog: pytest.LogCaptureFixture, verb: str,
    before: list[str], expected: tuple[int, str], after: str, argument: bytes,
) -> None:
    with Wire(gateway) as wire:
        wire.start()
        for command in before:
            assert wire.command(command).code == 250
        answer = wire.command(verb.encode() + argument)
        assert (answer.code, answer.lines[0][:5]) == expected, answer
        assert wire.command(after).code == 250
    bad = [record for record in caplog.records if record.levelno >= logging.ERROR
           or record.exc_info]
    assert not bad, [record.getMessage() for record in bad]


def test_valid_domain_literals_are_accepted(sink: Sink, gateway: tuple[str, int]) -> None:
    with Wire(gateway) as wire:
        wire.start()
        assert wire.command("MAIL FROM:<a@[192.0.2.1]>").code == 250
        assert wire.command("RCPT TO:<b@[IPv6:2001:db8::1]>").code == 250


def test_unknown_commands_do_not_fill_the_log(
    sink: Sink, gateway: tuple[str, int], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)
    for _ in range(3):
        with Wire(gateway) as wire:
            wire.start()
            for number in range(4):  # aiosmtpd closes at the fifth
                assert wire.command(f"JUNK{number}").code == 500
    assert not [record for record in caplog.records if "JUNK" in record.getMessage()]
