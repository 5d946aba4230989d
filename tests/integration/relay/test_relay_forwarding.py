"""The real client behind a relay: XFORWARD (Postfix smtpd_proxy_filter) and PROXY v1 (HAProxy)."""

from __future__ import annotations

import json
import smtplib
import socket
import struct
from collections.abc import Callable
from pathlib import Path
from typing import Any

from gateway.service.serve import Gateway
from tests.support.sink import Sink
from tests.support.wire import Wire

MESSAGE = b"From: a@x.test\r\nSubject: t\r\n\r\nbody\r\n"
XFORWARD = b"XFORWARD NAME=mail.so-noivu.vn ADDR=203.0.113.5 HELO=mail.so-noivu.vn PROTO=ESMTP"


def _audit(tmp_path: Path) -> list[dict[str, Any]]:
    lines = (tmp_path / "audit.jsonl").read_text().splitlines()
    return [json.loads(line) for line in lines]


def _relay(wire: Wire) -> int:
    assert wire.command("MAIL FROM:<a@x.test>").code == 250
    assert wire.command("RCPT TO:<b@x.test>").code == 250
    assert wire.command("DATA").code == 354
    return wire.command(MESSAGE + b".").code


def test_xforward_from_a_trusted_relay_is_believed_and_passed_upstream(
    sink: Sink, gateway: tuple[str, int], tmp_path: Path
) -> None:
    with Wire(gateway) as wire:
        ehlo = wire.start("postfix-a.test")
        assert "XFORWARD NAME ADDR PORT PROTO HELO IDENT SOURCE" in ehlo.lines
        assert wire.command(XFORWARD).code == 250
        assert _relay(wire) == 250
    got = sink.messages[0]
    assert got.xforward["ADDR"] == "203.0.113.5"
    assert got.xforward["NAME"] == "mail.so-noivu.vn"
    assert got.xforward["HELO"] == "mail.so-noivu.vn"
    trace = got.content.split(b"\r\nFrom:")[0]
    assert trace.startswith(b"Received: from mail.so-noivu.vn (mail.so-noivu.vn [203.0.113.5])")
    (record,) = _audit(tmp_path)
    assert (record["client_ip"], record["client_name"], record["helo"]) == (
        "203.0.113.5", "mail.so-noivu.vn", "mail.so-noivu.vn"
    )


def test_xforward_is_refused_inside_a_transaction(sink: Sink, gateway: tuple[str, int]) -> None:
    with Wire(gateway) as wire:
        wire.start()
        wire.command("MAIL FROM:<a@x.test>")
        answer = wire.command(XFORWARD)
        assert (answer.code, answer.lines[0][:5]) == (503, "5.5.1")


def test_xforward_from_an_untrusted_client_is_an_unknown_command(
    sink: Sink, gateway_at: Callable[..., Gateway], tmp_path: Path
) -> None:
    address = gateway_at(sink.address, trusted_relays=["10.0.0.0/8"]).addresses()[0]
    with Wire(address) as wire:
        ehlo = wire.start("liar.test")
        assert not any(line.startswith("XFORWARD") for line in ehlo.lines)
        answer = wire.command(XFORWARD)
        assert answer.code == 500
        assert _relay(wire) == 250
    assert sink.messages[0].xforward["ADDR"] == "127.0.0.1"
    assert sink.messages[0].xforward["HELO"] == "liar.test"
    assert _audit(tmp_path)[0]["client_ip"] == "127.0.0.1"


def test_xforward_is_not_sent_to_an_upstream_that_does_not_offer_it(
    sink: Sink, gateway: tuple[str, int]
) -> None:
    sink.behaviour.xforward = False
    with smtplib.SMTP(*gateway) as client:
        client.sendmail("a@x.test", ["b@x.test"], MESSAGE)
    assert sink.messages[0].xforward == {}


def test_proxy_v1_header_from_a_trusted_balancer_gives_the_real_client(
    sink: Sink, gateway_at: Callable[..., Gateway], tmp_path: Path
) -> None:
    address = gateway_at(sink.address, proxy_protocol=True).addresses()[0]
    with Wire(address) as wire:
        wire.send(b"PROXY TCP4 198.51.100.7 10.0.0.1 40000 25\r\n")
        wire.start("outside.test")
        assert _relay(wire) == 250
    assert sink.messages[0].xforward["ADDR"] == "198.51.100.7"
    assert b"[198.51.100.7]" in sink.messages[0].content.split(b"\r\nFrom:")[0]
    assert _audit(tmp_path)[0]["client_ip"] == "198.51.100.7"


def test_proxy_header_from_an_untrusted_peer_or_missing_closes_without_greeting(
    sink: Sink, gateway_at: Callable[..., Gateway]
) -> None:
    untrusted = gateway_at(sink.address, proxy_protocol=True, trusted_relays=["10.0.0.0/8"])
    with Wire(untrusted.addresses()[0]) as wire:
        wire.send(b"PROXY TCP4 198.51.100.7 10.0.0.1 40000 25\r\n")
        assert wire.closed()
    trusted = gateway_at(sink.address, proxy_protocol=True)
    with Wire(trusted.addresses()[0]) as wire:
        wire.send(b"EHLO no-proxy-header.test\r\n")
        assert wire.closed()
    assert sink.messages == []


def test_proxy_v2_header_gives_the_real_client(
    sink: Sink, gateway_at: Callable[..., Gateway], tmp_path: Path
) -> None:
    address = gateway_at(sink.address, proxy_protocol=True).addresses()[0]
    addresses = socket.inet_aton("192.0.2.44") + socket.inet_aton("10.0.0.1")
    ports = struct.pack("!HH", 51000, 25)
    header = b"\r\n\r\n\x00\r\nQUIT\n" + bytes([0x21, 0x11]) + struct.pack("!H", 12)
    with Wire(address) as wire:
        wire.send(header + addresses + ports)
        wire.start("outside.test")
        assert _relay(wire) == 250
    assert sink.messages[0].xforward["ADDR"] == "192.0.2.44"
