"""Broken and hostile input: clear replies or clean closes, nothing half-relayed, others served."""

from __future__ import annotations

import smtplib
import time
from collections.abc import Callable
from typing import Any

import pytest
from prometheus_client import REGISTRY

from gateway.service.serve import Gateway
from tests.support.sink import Sink
from tests.support.wire import Wire

MESSAGE = b"From: a@x.test\r\nSubject: t\r\n\r\nbody\r\n"


def _send(address: tuple[str, int], body: bytes, mail: str = "MAIL FROM:<a@x.test>") -> tuple:
    with Wire(address) as wire:
        wire.start()
        assert wire.command(mail).code == 250
        assert wire.command("RCPT TO:<b@x.test>").code == 250
        assert wire.command("DATA").code == 354
        wire.send(body + b".\r\n")
        answer = wire.reply()
        assert wire.command("QUIT").code == 221
    return answer.code, answer.lines[0][:5]


def test_line_of_exactly_the_limit_passes_one_more_is_refused(
    sink: Sink, gateway: tuple[str, int]
) -> None:
    longest = b"Subject: t\r\n\r\n" + b"x" * 998 + b"\r\n"
    assert _send(gateway, longest) == (250, "2.0.0")
    assert _send(gateway, b"Subject: t\r\n\r\n" + b"x" * 999 + b"\r\n") == (554, "5.6.0")
    assert len(sink.messages) == 1
    assert sink.messages[0].content.endswith(longest)


def test_long_line_across_blocks_is_refused(sink: Sink, gateway: tuple[str, int]) -> None:
    body = b"Subject: t\r\n\r\n" + (b"ok\r\n" * 100_000) + b"y" * 600_000 + b"\r\nend\r\n"
    assert _send(gateway, body) == (554, "5.6.0")
    assert sink.messages == []


def test_nul_byte_is_refused(sink: Sink, gateway: tuple[str, int]) -> None:
    assert _send(gateway, b"Subject: t\r\n\r\nab\x00cd\r\n") == (554, "5.6.0")
    assert sink.messages == []


def test_bare_lf_inside_a_line_is_refused(sink: Sink, gateway: tuple[str, int]) -> None:
    assert _send(gateway, b"Subject: t\r\n\r\none\ntwo\r\n") == (554, "5.6.0")
    assert _send(gateway, b"Subject: t\r\n\r\none\rtwo\r\n") == (554, "5.6.0")
    assert sink.messages == []


EIGHT_BIT = "Subject: Giấy mời họp\r\n\r\nNội dung\r\n".encode()


def test_eight_bit_header_without_smtputf8_is_refused_when_configured(
    sink: Sink, gateway_at: Callable[..., Gateway]
) -> None:
    address = gateway_at(sink.address, eight_bit_headers="reject").addresses()[0]
    assert _send(address, EIGHT_BIT) == (554, "5.6.7")
    assert sink.messages == []


def test_eight_bit_header_with_smtputf8_is_relayed(sink: Sink, gateway: tuple[str, int]) -> None:
    assert _send(gateway, EIGHT_BIT, "MAIL FROM:<a@x.test> SMTPUTF8") == (250, "2.0.0")
    assert sink.messages[0].content.endswith(EIGHT_BIT)
    assert "SMTPUTF8" in sink.messages[0].mail_options


def test_eight_bit_body_is_relayed_unchanged(sink: Sink, gateway: tuple[str, int]) -> None:
    body = "Subject: plain\r\n\r\nNội dung tiếng Việt\r\n".encode()
    assert _send(gateway, body, "MAIL FROM:<a@x.test> BODY=8BITMIME") == (250, "2.0.0")
    assert sink.messages[0].content.endswith(body)
    assert "BODY=8BITMIME" in sink.messages[0].mail_options


def test_eight_bit_headers_accepted_by_default(sink: Sink, gateway: tuple[str, int]) -> None:
    assert _send(gateway, EIGHT_BIT) == (250, "2.0.0")
    assert sink.messages[0].content.endswith(EIGHT_BIT)


def test_client_vanishing_mid_data_relays_nothing_and_others_are_served(
    sink: Sink, gateway: tuple[str, int]
) -> None:
    for partial in (b"", b"Subject: cut\r\n\r\nhalf a mes", b"Subject: cut\r\n\r\n.\r"):
        with Wire(gateway) as wire:
            wire.start()
            wire.command("MAIL FROM:<a@x.test>")
            wire.command("RCPT TO:<b@x.test>")
            assert wire.command("DATA").code == 354
            wire.send(partial)
        time.sleep(0.1)
    with smtplib.SMTP(*gateway) as client:
        client.sendmail("a@x.test", ["b@x.test"], MESSAGE)
    assert [m.content.endswith(MESSAGE) for m in sink.messages] == [True]


def test_client_vanishing_after_the_terminator_still_completes_the_relay(
    sink: Sink, gateway: tuple[str, int]
) -> None:
    sink.behaviour.data_delay = 0.5
    with Wire(gateway) as wire:
        wire.start()
        wire.command("MAIL FROM:<a@x.test>")
        wire.command("RCPT TO:<b@x.test>")
        assert wire.command("DATA").code == 354
        wire.send(MESSAGE + b".\r\n")
        time.sleep(0.1)
    assert sink.arrived.wait(3)
    sink.behaviour.data_delay = 0
    with smtplib.SMTP(*gateway) as client:
        client.sendmail("a@x.test", ["c@x.test"], MESSAGE)
    assert [m.rcpt_tos for m in sink.messages] == [["b@x.test"], ["c@x.test"]]


def test_command_timeout_says_421_and_closes(
    sink: Sink, gateway_at: Callable[..., Gateway]
) -> None:
    address = gateway_at(sink.address, command_timeout=0.3).addresses()[0]
    with Wire(address) as wire:
        wire.start()
        time.sleep(0.6)
        answer = wire.reply()
        assert (answer.code, answer.lines[0][:5]) == (421, "4.4.2")
        assert wire.closed()


def test_data_timeout_says_421_closes_and_relays_nothing(
    sink: Sink, gateway_at: Callable[..., Gateway]
) -> None:
    address = gateway_at(sink.address, data_timeout=0.3, command_timeout=0.3).addresses()[0]
    with Wire(address) as wire:
        wire.start()
        wire.command("MAIL FROM:<a@x.test>")
        wire.command("RCPT TO:<b@x.test>")
        assert wire.command("DATA").code == 354
        wire.send(b"Subject: slow\r\n\r\nstart")
        time.sleep(0.6)
        answer = wire.reply()
        assert (answer.code, answer.lines[0][:5]) == (421, "4.4.2")
        assert wire.closed()
    with smtplib.SMTP(*address) as client:
        client.sendmail("a@x.test", ["b@x.test"], MESSAGE)
    assert [m.content.endswith(MESSAGE) for m in sink.messages] == [True]


def test_slow_but_steady_client_is_not_cut_off(
    sink: Sink, gateway_at: Callable[..., Gateway]
) -> None:
    address = gateway_at(sink.address, data_timeout=0.4, command_timeout=0.4).addresses()[0]
    body = b"Subject: slow\r\n\r\n" + b"line\r\n" * 10
    with Wire(address) as wire:
        wire.start()
        wire.command("MAIL FROM:<a@x.test>")
        wire.command("RCPT TO:<b@x.test>")
        assert wire.command("DATA").code == 354
        wire.send_slowly(body + b".\r\n", list(range(20, len(body), 20)), pause=0.1)
        assert wire.reply().code == 250


@pytest.mark.parametrize(
    ("limits", "reason"),
    [({"max_connections": 2}, "total"),
     ({"max_connections_per_ip": 2, "trusted_relays": []}, "per_ip")],
)
def test_connection_limit_is_421_4_7_0(
    sink: Sink, gateway_at: Callable[..., Gateway], limits: dict[str, Any], reason: str,
) -> None:
    address = gateway_at(sink.address, **limits).addresses()[0]
    refused = _refused(reason)
    first, second = Wire(address), Wire(address)
    try:
        first.start()
        second.start()
        with Wire(address) as third:
            answer = third.reply()
            assert (answer.code, answer.lines[0][:5]) == (421, "4.7.0")
            assert "Too many connections" in answer.lines[0]
            assert third.closed()
        assert _refused(reason) == refused + 1
        first.close()
        time.sleep(0.1)
        with smtplib.SMTP(*address) as client:
            client.sendmail("a@x.test", ["b@x.test"], MESSAGE)
    finally:
        first.close()
        second.close()
    assert len(sink.messages) == 1


def _refused(reason: str) -> float:
    value = REGISTRY.get_sample_value("tth_connections_refused_total", {"reason": reason})
    return value or 0.0


def test_a_trusted_relay_is_exempt_from_the_per_ip_limit(
    sink: Sink, gateway_at: Callable[..., Gateway]
) -> None:
    """Postfix in front carries every client's connection from its one address."""
    address = gateway_at(sink.address, max_connections_per_ip=2).addresses()[0]
    wires = [Wire(address) for _ in range(4)]
    try:
        for wire in wires:
            wire.start()
        with smtplib.SMTP(*address) as client:
            client.sendmail("a@x.test", ["b@x.test"], MESSAGE)
    finally:
        for wire in wires:
            wire.close()
    assert len(sink.messages) == 1


def test_too_many_unknown_commands_close_the_connection(
    sink: Sink, gateway: tuple[str, int]
) -> None:
    with Wire(gateway) as wire:
        wire.start()
        codes = set()
        for _ in range(40):
            try:
                codes.add(wire.command("JUNK").code)
            except (EOFError, ConnectionError):
                break
        assert wire.closed()
    assert codes <= {500, 502}
