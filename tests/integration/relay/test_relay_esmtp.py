"""ESMTP as a mail administrator expects: STARTTLS both ways, SIZE, 8BITMIME, SMTPUTF8."""

from __future__ import annotations

import select
import smtplib
import ssl
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import trustme

from gateway.deciding.seam import AcceptAll
from gateway.service.serve import Gateway
from tests.support.running import running_gateway, settings_for
from tests.support.sink import Sink, _SinkSMTP
from tests.support.wire import Wire

MESSAGE = b"From: a@x.test\r\nSubject: t\r\n\r\nbody\r\n"


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture
def server_cert(ca: trustme.CA, tmp_path: Path) -> tuple[Path, Path]:
    cert = ca.issue_cert("gw.test", "127.0.0.1")
    chain, key = tmp_path / "gw.pem", tmp_path / "gw.key"
    chain.write_bytes(b"".join(blob.bytes() for blob in cert.cert_chain_pems))
    key.write_bytes(cert.private_key_pem.bytes())
    return chain, key


def _client_context(ca: trustme.CA) -> ssl.SSLContext:
    context = ssl.create_default_context()
    ca.configure_trust(context)
    return context


def test_starttls_is_offered_and_the_relay_records_esmtps(
    sink: Sink, gateway_at: Callable[..., Gateway], server_cert: tuple[Path, Path],
    ca: trustme.CA,
) -> None:
    chain, key = server_cert
    address = gateway_at(sink.address, tls={"certificate": str(chain), "key": str(key)})
    with smtplib.SMTP(*address.addresses()[0]) as client:
        client.ehlo()
        assert client.has_extn("starttls")
        client.starttls(context=_client_context(ca))
        client.ehlo()
        client.sendmail("a@x.test", ["b@x.test"], MESSAGE)
    trace = sink.messages[0].content.split(b"\r\nFrom:")[0]
    assert b"with ESMTPS id" in trace


def test_tls_required_refuses_mail_before_starttls(
    sink: Sink, gateway_at: Callable[..., Gateway], server_cert: tuple[Path, Path],
    ca: trustme.CA,
) -> None:
    chain, key = server_cert
    gateway = gateway_at(
        sink.address, tls={"certificate": str(chain), "key": str(key), "require": True}
    )
    address = gateway.addresses()[0]
    with Wire(address) as wire:
        wire.start()
        answer = wire.command("MAIL FROM:<a@x.test>")
        assert (answer.code, answer.lines[0][:5]) == (530, "5.7.0")
    with smtplib.SMTP(*address) as client:
        client.starttls(context=_client_context(ca))
        client.sendmail("a@x.test", ["b@x.test"], MESSAGE)
    assert len(sink.messages) == 1


class TlsSink(Sink):
    """The sink offering STARTTLS with a certificate for `127.0.0.1`."""

    def __init__(self, context: ssl.SSLContext) -> None:
        self._tls = context
        super().__init__()

    def factory(self) -> _SinkSMTP:
        self.connections += 1
        return _SinkSMTP(self, self.handler, hostname="sink.test", data_size_limit=None,
                         tls_context=self._tls, require_starttls=True)


@pytest.fixture
def tls_sink(ca: trustme.CA) -> Iterator[TlsSink]:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(context)
    sink = TlsSink(context)
    sink.start()
    yield sink
    sink.stop()


def _gateway_to(sink: Sink, tmp_path: Path, **upstream: Any) -> Iterator[tuple[str, int]]:
    settings = settings_for(sink.address, tmp_path)
    settings = settings.model_copy(
        update={"upstream": settings.upstream.model_copy(update=upstream)}
    )
    with running_gateway(settings, AcceptAll()) as gateway:
        yield gateway.addresses()[0]


def _send(address: tuple[str, int]) -> tuple[int, str]:
    with Wire(address) as wire:
        wire.start()
        answer = wire.command("MAIL FROM:<a@x.test>")
        if answer.code == 250:
            wire.command("RCPT TO:<b@x.test>")
            wire.command("DATA")
            answer = wire.command(MESSAGE + b".")
    return answer.code, answer.lines[0][:5]


def test_upstream_starttls_with_a_verified_certificate(
    tls_sink: TlsSink, tmp_path: Path, ca: trustme.CA
) -> None:
    ca_file = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    for address in _gateway_to(tls_sink, tmp_path, starttls="require", ca_file=ca_file):
        assert _send(address) == (250, "2.0.0")
    assert len(tls_sink.messages) == 1


def test_upstream_certificate_not_trusted_is_a_4xx(tls_sink: TlsSink, tmp_path: Path) -> None:
    for address in _gateway_to(tls_sink, tmp_path, starttls="require"):
        assert _send(address) == (451, "4.4.1")
    assert tls_sink.messages == []


def test_upstream_certificate_check_can_be_switched_off(
    tls_sink: TlsSink, tmp_path: Path
) -> None:
    for address in _gateway_to(tls_sink, tmp_path, starttls="require",
                               verify_certificate=False):
        assert _send(address) == (250, "2.0.0")
    assert len(tls_sink.messages) == 1


def test_upstream_without_starttls_when_required_is_a_4xx(
    sink: Sink, tmp_path: Path
) -> None:
    for address in _gateway_to(sink, tmp_path, starttls="require"):
        assert _send(address) == (451, "4.4.1")
    assert sink.messages == []


def test_size_is_announced_and_enforced(sink: Sink, gateway_at: Callable[..., Gateway]) -> None:
    address = gateway_at(sink.address, max_message_size=10_000).addresses()[0]
    with Wire(address) as wire:
        ehlo = wire.start()
        assert "SIZE 10000" in ehlo.lines
        assert "8BITMIME" in ehlo.lines
        assert "SMTPUTF8" in ehlo.lines
        declared = wire.command("MAIL FROM:<a@x.test> SIZE=10001")
        assert (declared.code, declared.lines[0][:5]) == (552, "5.3.4")
        assert wire.command("MAIL FROM:<a@x.test> SIZE=9000").code == 250
        assert wire.command("RCPT TO:<b@x.test>").code == 250
        assert wire.command("DATA").code == 354
        wire.send(b"Subject: big\r\n\r\n" + b"x" * 900 + b"\r\n")
        wire.send((b"y" * 900 + b"\r\n") * 12)
        oversize = wire.command(b".")
        assert (oversize.code, oversize.lines[0][:5]) == (552, "5.3.4")
        assert wire.command("MAIL FROM:<a@x.test>").code == 250
        assert wire.command("RCPT TO:<b@x.test>").code == 250
        assert wire.command("DATA").code == 354
        assert wire.command(MESSAGE + b".").code == 250
    assert len(sink.messages) == 1
    assert sink.messages[0].mail_options == []


def test_the_ehlo_reply_leaves_in_one_write(gateway: tuple[str, int]) -> None:
    """All its lines in one segment: aiosmtpd writes each line on its own, and a pipelining
    client (Postfix) then reads, and the kernel sends, one packet per line."""
    with Wire(gateway) as wire:
        assert wire.reply().code == 220
        wire.send(b"EHLO client.test\r\n")
        select.select([wire.sock], [], [], 10)
        first_read = wire.sock.recv(65536)
    lines = first_read.split(b"\r\n")
    assert lines[-2:] == [b"250 HELP", b""]
    assert b"250-PIPELINING" in lines and b"250-ENHANCEDSTATUSCODES" in lines


def test_size_and_body_parameters_go_upstream_only_where_announced(
    sink: Sink, gateway: tuple[str, int]
) -> None:
    """The sink announces 8BITMIME but no SIZE."""
    with smtplib.SMTP(*gateway) as client:
        client.sendmail("a@x.test", ["b@x.test"], MESSAGE,
                        mail_options=["SIZE=40", "BODY=8BITMIME"])
    assert sink.messages[0].mail_options == ["BODY=8BITMIME"]


def test_smtputf8_to_an_upstream_without_it_is_553_5_6_7(
    gateway_at: Callable[..., Gateway]
) -> None:
    plain = Sink(smtputf8=False)
    plain.start()
    try:
        address = gateway_at(plain.address).addresses()[0]
        with Wire(address) as wire:
            wire.start()
            refused = wire.command("MAIL FROM:<người.gửi@x.test> SMTPUTF8".encode())
            assert (refused.code, refused.lines[0][:5]) == (553, "5.6.7")
            assert wire.command("MAIL FROM:<a@x.test>").code == 250
            assert wire.command("RCPT TO:<b@x.test>").code == 250
            assert wire.command("DATA").code == 354
            assert wire.command(MESSAGE + b".").code == 250
        assert len(plain.messages) == 1
    finally:
        plain.stop()


def test_smtputf8_address_reaches_an_upstream_that_has_it(
    sink: Sink, gateway: tuple[str, int]
) -> None:
    with Wire(gateway) as wire:
        wire.start()
        assert wire.command("MAIL FROM:<người.gửi@x.test> SMTPUTF8".encode()).code == 250
        assert wire.command("RCPT TO:<người.nhận@huế.vn>".encode()).code == 250
        assert wire.command("DATA").code == 354
        assert wire.command(MESSAGE + b".").code == 250
    got = sink.messages[0]
    assert (got.mail_from, got.rcpt_tos) == ("người.gửi@x.test", ["người.nhận@huế.vn"])
    assert b"with UTF8SMTP id" in got.content.split(b"\r\nFrom:")[0]


def test_starttls_inside_a_transaction_is_refused(
    sink: Sink, gateway_at: Callable[..., Gateway], server_cert: tuple[Path, Path]
) -> None:
    chain, key = server_cert
    address = gateway_at(sink.address, tls={"certificate": str(chain), "key": str(key)})
    with Wire(address.addresses()[0]) as wire:
        wire.start()
        assert wire.command("MAIL FROM:<a@x.test>").code == 250
        answer = wire.command("STARTTLS")
        assert (answer.code, answer.lines[0][:5]) == (503, "5.5.1")
        assert wire.command("RSET").code == 250
        assert wire.command("STARTTLS").code == 220


def test_tls_sessions_free_their_connection_slot(
    sink: Sink, gateway_at: Callable[..., Gateway], server_cert: tuple[Path, Path],
    ca: trustme.CA,
) -> None:
    chain, key = server_cert
    gateway = gateway_at(sink.address, max_connections=1,
                         tls={"certificate": str(chain), "key": str(key)})
    for _ in range(3):
        with smtplib.SMTP(*gateway.addresses()[0]) as client:
            client.starttls(context=_client_context(ca))
            client.sendmail("a@x.test", ["b@x.test"], MESSAGE)
        deadline = time.monotonic() + 2
        while gateway.limiter.open and time.monotonic() < deadline:
            time.sleep(0.01)
    assert len(sink.messages) == 3
