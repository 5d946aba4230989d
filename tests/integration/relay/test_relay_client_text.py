"""What a client writes never reaches a header or a reply raw, and its odd bytes are its own
mistake: a clear 5xx or a clean close, never a traceback or a 4xx that makes it retry."""

from __future__ import annotations

import logging
import re
import socket
import ssl
from collections.abc import Callable
from pathlib import Path

import pytest
import trustme

from gateway.service.serve import Gateway
from tests.support.sink import Sink
from tests.support.wire import Wire

MESSAGE = b"From: a@x.test\r\nSubject: t\r\n\r\nbody\r\n"
CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def _errors(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [record.getMessage() for record in caplog.records if record.levelno >= logging.ERROR]


def _relay(wire: Wire) -> int:
    assert wire.command("MAIL FROM:<a@x.test>").code == 250
    assert wire.command("RCPT TO:<b@x.test>").code == 250
    assert wire.command("DATA").code == 354
    return wire.command(MESSAGE + b".").code


@pytest.mark.parametrize("size", ["²", "①", "١٢", "1²"])
def test_a_size_that_is_not_ascii_digits_is_a_syntax_error(
    sink: Sink, gateway: tuple[str, int], caplog: pytest.LogCaptureFixture, size: str
) -> None:
    caplog.set_level(logging.INFO)
    with Wire(gateway) as wire:
        wire.start()
        answer = wire.command(f"MAIL FROM:<a@x.test> SIZE={size}".encode())
        assert (answer.code, answer.lines[0][:5]) == (501, "5.5.4")
        assert wire.command("RCPT TO:<b@x.test> NOTIFY=NËVER".encode()).code == 503
        assert _relay(wire) == 250
    assert _errors(caplog) == []
    assert len(sink.messages) == 1


@pytest.mark.parametrize("verb", ["EHLO", "HELO"])
@pytest.mark.parametrize("name", ["x\rX-Injected: yes", "x\x00y", "x\x1b[2Jy", "x\x85y"])
def test_a_greeting_name_with_control_characters_is_refused(
    sink: Sink, gateway: tuple[str, int], verb: str, name: str
) -> None:
    with Wire(gateway) as wire:
        assert wire.reply().code == 220
        answer = wire.command(f"{verb} {name}".encode())
        assert (answer.code, answer.lines[0][:5]) == (501, "5.5.4")
        assert wire.command("MAIL FROM:<a@x.test>").code == 503  # no greeting took
        assert wire.command(f"{verb} client.test").code == 250
        assert _relay(wire) == 250
    trace = sink.messages[0].content.split(b"\r\nFrom:")[0]
    assert trace.startswith(b"Received: from client.test (")


@pytest.mark.parametrize("attribute", [
    "HELO=x+0DX-Injected:+20yes", "NAME=a+00b", "ADDR=10.1.2.3+0DX-Inj:+20y",
    "ADDR=not-an-ip", "ADDR=IPV6:zz::1", "PROTO=ESMTP+0A",
])
def test_xforward_values_that_do_not_fit_a_header_are_refused(
    sink: Sink, gateway: tuple[str, int], attribute: str
) -> None:
    with Wire(gateway) as wire:
        wire.start("postfix-a.test")
        answer = wire.command(f"XFORWARD {attribute}")
        assert (answer.code, answer.lines[0][:5]) == (501, "5.5.4")
        assert CONTROL.search(answer.lines[0]) is None
        assert wire.command("XFORWARD ADDR=IPV6:2001:db8::5 HELO=[UNAVAILABLE]").code == 250
        assert _relay(wire) == 250
    trace = sink.messages[0].content.split(b"\r\nFrom:")[0]
    assert trace.startswith(b"Received: from unknown (unknown [2001:db8::5])")
    assert sink.messages[0].xforward["ADDR"] == "2001:db8::5"


@pytest.mark.parametrize("prefix", ["IPV6:", "IPv6:", "ipv6:"])
def test_an_ipv6_xforward_address_is_read_whatever_the_case_of_its_prefix(
    sink: Sink, gateway: tuple[str, int], prefix: str
) -> None:
    """Postfix writes `ADDR=IPv6:2001:db8::5`; the client's address is the bare IPv6 one."""
    with Wire(gateway) as wire:
        wire.start("postfix-a.test")
        assert wire.command(f"XFORWARD ADDR={prefix}2001:db8::5").code == 250
        assert _relay(wire) == 250
    trace = sink.messages[0].content.split(b"\r\nFrom:")[0]
    assert b"[2001:db8::5])" in trace


@pytest.mark.parametrize("command", [
    b"A\rB", b"NO\x00OP", b"\x1b[2J", b"X\x7f\x9bY", b"Z" * 600, "ĐĂNG\u0085KÝ".encode(),
])
def test_an_unknown_command_is_not_echoed_raw(gateway: tuple[str, int], command: bytes) -> None:
    with Wire(gateway) as wire:
        wire.start()
        answer = wire.command(command)
        assert answer.code == 500
        (line,) = answer.lines
        assert CONTROL.search(line) is None, line
        assert len(f"500 {line}".encode()) + 2 <= 512
        assert wire.command("NOOP").code == 250


@pytest.fixture
def tls_gateway(sink: Sink, gateway_at: Callable[..., Gateway],
                tmp_path: Path) -> tuple[tuple[str, int], trustme.CA]:
    ca = trustme.CA()
    cert = ca.issue_cert("gw.test", "127.0.0.1")
    chain, key = tmp_path / "gw.pem", tmp_path / "gw.key"
    chain.write_bytes(b"".join(blob.bytes() for blob in cert.cert_chain_pems))
    key.write_bytes(cert.private_key_pem.bytes())
    gateway = gateway_at(sink.address, tls={"certificate": str(chain), "key": str(key)})
    return gateway.addresses()[0], ca


@pytest.mark.parametrize("after", [b"not tls\r\n", b"\x16\x03\x01\x00", b""])
def test_a_failed_tls_handshake_closes_the_connection_without_an_error(
    tls_gateway: tuple[tuple[str, int], trustme.CA], caplog: pytest.LogCaptureFixture,
    after: bytes,
) -> None:
    caplog.set_level(logging.INFO)
    address, _ = tls_gateway
    with Wire(address) as wire:
        wire.start()
        assert wire.command("STARTTLS").code == 220
        wire.send(after)  # plain text, part of a ClientHello, or nothing
        wire.sock.shutdown(socket.SHUT_WR)
        assert wire.closed()
    with Wire(address) as wire:  # still serving
        assert wire.start().code == 250
    assert _errors(caplog) == []
    assert any("TLS handshake failed" in record.getMessage() for record in caplog.records)


def test_starttls_under_tls_is_refused(
    sink: Sink, tls_gateway: tuple[tuple[str, int], trustme.CA],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    address, ca = tls_gateway
    context = ssl.create_default_context()
    ca.configure_trust(context)
    with Wire(address) as wire:
        wire.start()
        assert wire.command("STARTTLS").code == 220
        wire.sock = context.wrap_socket(wire.sock, server_hostname="127.0.0.1")
        ehlo = wire.command("EHLO client.test")
        assert "STARTTLS" not in ehlo.lines
        answer = wire.command("STARTTLS")
        assert (answer.code, answer.lines[0][:5]) == (554, "5.5.1")
        assert _relay(wire) == 250
    assert b"with ESMTPS id" in sink.messages[0].content
    assert _errors(caplog) == []
