"""The finishing step runs last on every relay path: plain relay, redirect to other
recipients, redirect to another host; the message arrives with a DKIM signature over
what the gateway added, verified against a real DNS server."""

from __future__ import annotations

import smtplib
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from gateway.auth.dns import DnsCache, DnsClient, DnsSettingsValue
from gateway.auth.keygen import generate
from gateway.auth.results import Result
from gateway.auth.signing import DkimSigner, public_record
from gateway.auth.stage import Finishing
from gateway.auth.verify import verify_dkim
from gateway.deciding.seam import AcceptAll, MessageDecision
from gateway.mail.envelope import Envelope
from gateway.mail.spool import Spool
from gateway.policy.verdict import Action, Verdict
from gateway.service.serve import Gateway
from tests.support.dnsserver import DnsServer
from tests.support.sink import Sink

MESSAGE = (b"From: vanthu@sotttt.thuathienhue.gov.vn\r\nTo: a@example.org\r\nSubject: t\r\n"
           b"Date: Fri, 04 Dec 2026 10:00:00 +0700\r\n\r\nbody\r\n.\r\nend\r\n")


class Signing(AcceptAll):
    """Accepts every step; after DATA gives `verdict` and a finishing step that signs."""

    def __init__(self, signer: DkimSigner, verdict: Verdict) -> None:
        self.signer, self.verdict = signer, verdict

    async def message(self, envelope: Envelope, spool: Spool) -> MessageDecision:
        finish = Finishing(None, self.signer, "sotttt.thuathienhue.gov.vn")
        return MessageDecision(self.verdict, finish=finish)


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[DkimSigner, DnsClient]]:
    key = generate("thuathienhue.gov.vn", "s1", "rsa", tmp_path_factory.mktemp("k"))
    zone = DnsServer()
    name, _, value = public_record(key).partition(". IN TXT ")
    zone.add(name, "TXT", value)
    with zone.running():
        yield DkimSigner([key]), DnsClient(
            DnsSettingsValue(((zone.host, zone.port),), 1.0, 3.0), DnsCache())


@pytest.mark.parametrize("route", ["relay", "recipients", "host"])
def test_signed_on_every_relay_path(sink: Sink, gateway_at: Callable[..., Gateway],
                                    keys: tuple[DkimSigner, DnsClient], route: str,
                                    tmp_path: Path) -> None:
    signer, dns = keys
    other = Sink()
    other.start()
    try:
        verdict = {
            "relay": Verdict(headers=(("X-TTH-Policy", "action=accept"),)),
            "recipients": Verdict(Action.REDIRECT, redirect_to=("vanthu@hue.gov.vn",)),
            "host": Verdict(Action.REDIRECT, redirect_to=(f"smtp:{other.address}",)),
        }[route]
        gateway = gateway_at(sink.address, decider=Signing(signer, verdict))
        with smtplib.SMTP(*gateway.addresses()[0]) as client:
            client.sendmail("vanthu@sotttt.thuathienhue.gov.vn", ["a@example.org"], MESSAGE)
        got = (other if route == "host" else sink).messages[-1]
        assert got.content.startswith(b"DKIM-Signature: ")
        assert got.content.endswith(MESSAGE)
        results = verify_dkim(got.content, dns)
        assert [(r.domain, r.result) for r in results] == [("thuathienhue.gov.vn", Result.PASS)]
    finally:
        other.stop()


@pytest.mark.parametrize("route", ["relay", "host"])
@pytest.mark.parametrize("line", [b"This line has no colon", b": an empty name"])
def test_unsignable_header_is_refused_for_good(sink: Sink, gateway_at: Callable[..., Gateway],
                                               keys: tuple[DkimSigner, DnsClient], route: str,
                                               line: bytes) -> None:
    """A header line the signer cannot read: 554, nothing sent (not a 451 retried for days,
    not a message sent unsigned)."""
    signer, _ = keys
    other = Sink()
    other.start()
    try:
        verdict = {
            "relay": Verdict(headers=(("X-TTH-Policy", "action=accept"),)),
            "host": Verdict(Action.REDIRECT, redirect_to=(f"smtp:{other.address}",)),
        }[route]
        gateway = gateway_at(sink.address, decider=Signing(signer, verdict))
        broken = MESSAGE.replace(b"Subject: t\r\n", b"Subject: t\r\n" + line + b"\r\n")
        with (smtplib.SMTP(*gateway.addresses()[0]) as client,
              pytest.raises(smtplib.SMTPDataError) as refused):
            client.sendmail("vanthu@sotttt.thuathienhue.gov.vn", ["a@example.org"], broken)
        assert (refused.value.smtp_code, refused.value.smtp_error[:5]) == (554, b"5.6.0")
        assert b"cannot be DKIM-signed" in refused.value.smtp_error
        assert sink.messages == [] and other.messages == []
    finally:
        other.stop()
