"""DMARC (every result, alignment, p/sp/pct) and ARC, through the whole authentication
stage against a real DNS server."""

from __future__ import annotations

from collections.abc import Iterator

import dkim
import pytest

from gateway.auth.dns import DnsCache, DnsClient, DnsSettingsValue
from gateway.auth.results import Authentication, Result, header_value
from gateway.auth.stage import Authenticator, strip_results
from gateway.mail.envelope import Envelope
from tests.support.authzone import PARTNER_IP, STRANGER_IP, AuthZone, build_zone


@pytest.fixture(scope="module")
def zone(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AuthZone]:
    built = build_zone(tmp_path_factory.mktemp("keys"))
    with built.server.running():
        yield built


def authenticator(zone: AuthZone) -> Authenticator:
    server = zone.server
    dns = DnsClient(DnsSettingsValue(((server.host, server.port),), 0.5, 1.5), DnsCache())
    return Authenticator(dns, None, "gw.test")


def message(from_address: str, *, extra: bytes = b"") -> bytes:
    return extra + (f"From: {from_address}\r\nTo: b@hue.gov.vn\r\nSubject: x\r\n"
                    "Date: Fri, 04 Dec 2026 10:00:00 +0000\r\nMessage-ID: <m@x>\r\n\r\nbody\r\n"
                    ).encode()


def run(zone: AuthZone, from_address: str, mail_from: str, ip: str = PARTNER_IP,
        signer: str | None = None, sign_domain: str = "") -> Authentication:
    raw = message(from_address)
    if signer is not None:
        raw = zone.signer(signer).sign(raw, sign_domain) + raw
    envelope = Envelope(mail_from=mail_from, rcpt_tos=("b@hue.gov.vn",), client_ip=ip,
                        helo="mx.example")
    return authenticator(zone).authenticate(raw, envelope)


def test_pass_by_aligned_dkim_from_anywhere(zone: AuthZone) -> None:
    found = run(zone, "a@bank.example", "bounce@elsewhere.example", STRANGER_IP,
                "bank", "bank.example")
    assert (found.dmarc.result, found.dmarc.aligned, found.spf.result) == \
        (Result.PASS, ("dkim",), Result.NONE)


def test_pass_by_aligned_spf(zone: AuthZone) -> None:
    found = run(zone, "a@bank.example", "bounce@bank.example")
    assert (found.dmarc.result, found.dmarc.aligned) == (Result.PASS, ("spf",))


@pytest.mark.parametrize(("domain", "policy", "disposition"), [
    ("bank.example", "reject", "reject"),
    ("shop.example", "quarantine", "quarantine"),
    ("news.example", "none", "none"),
    ("sampled.example", "reject", "quarantine"),  # pct=0: the next lower policy applies
])
def test_fail_carries_the_domain_policy(zone: AuthZone, domain: str, policy: str,
                                        disposition: str) -> None:
    found = run(zone, f"a@{domain}", f"a@{domain}", STRANGER_IP)
    assert (found.spf.result, found.dmarc.result) == (Result.FAIL, Result.FAIL)
    assert (found.dmarc.policy, found.dmarc.disposition) == (policy, disposition)


def test_subdomain_policy_from_the_organisational_record(zone: AuthZone) -> None:
    found = run(zone, "a@mail.parent.example", "a@mail.parent.example", STRANGER_IP)
    assert (found.dmarc.result, found.dmarc.record_domain, found.dmarc.policy) == \
        (Result.FAIL, "parent.example", "reject")
    relaxed = run(zone, "a@mail.parent.example", "a@mail.parent.example")
    assert relaxed.dmarc.result is Result.PASS


def test_strict_alignment_needs_the_exact_domain(zone: AuthZone) -> None:
    found = run(zone, "a@strict.example", "b@bounce.strict.example")
    assert (found.spf.result, found.dmarc.result) == (Result.PASS, Result.FAIL)
    assert run(zone, "a@strict.example", "b@strict.example").dmarc.result is Result.PASS


def test_none_temperror_permerror(zone: AuthZone) -> None:
    assert run(zone, "a@nodmarc.example", "a@nodmarc.example").dmarc.result is Result.NONE
    down = run(zone, "a@down.example", "a@down.example")
    assert (down.spf.result, down.dmarc.result) == (Result.TEMPERROR, Result.TEMPERROR)
    assert run(zone, "a@twice.example", "a@twice.example").dmarc.result is Result.PERMERROR
    assert run(zone, "a@badpolicy.example", "x@x.example").dmarc.result is Result.PERMERROR


def test_several_from_domains_get_the_strictest_policy_that_fails(zone: AuthZone) -> None:
    """RFC 7489 6.6.1: each From domain is checked, the strictest failure applies."""
    both = run(zone, "a@shop.example, b@bank.example", "x@elsewhere.example", ip=STRANGER_IP)
    assert (both.from_domain, both.dmarc.result, both.dmarc.domain, both.dmarc.disposition) \
        == ("", Result.FAIL, "bank.example", "reject")
    assert "strictest of the 2 From domains" in both.dmarc.reason
    envelope = Envelope("x@elsewhere.example", ("b@hue.gov.vn",), STRANGER_IP)
    twice = message("a@bank.example", extra=b"From: a@bank.example\r\n")
    repeated = authenticator(zone).authenticate(twice, envelope)
    assert (repeated.dmarc.result, repeated.dmarc.disposition) == (Result.FAIL, "reject")
    one_passes = run(zone, "a@bank.example, b@nodmarc.example", "a@bank.example")
    assert one_passes.dmarc.result is Result.NONE  # bank.example passes by SPF
    assert run(zone, "a@bank.example, b", "a@bank.example").dmarc.result is Result.NONE


def test_arc_chain_pass_and_fail(zone: AuthZone) -> None:
    key = zone.keys["forwarder"]
    base = message("a@bank.example",
                   extra=b"Authentication-Results: lists.example; spf=pass\r\n")
    sealed = b"".join(dkim.arc_sign(base, b"arc", b"lists.example", key.private,
                                    b"lists.example")) + base
    envelope = Envelope("a@lists.example", ("b@hue.gov.vn",), STRANGER_IP)
    good = authenticator(zone).authenticate(sealed, envelope)
    assert (good.arc.result, good.arc.instances) == (Result.PASS, 1)
    broken = authenticator(zone).authenticate(sealed.replace(b"body", b"bod y"), envelope)
    assert broken.arc.result is Result.FAIL
    assert authenticator(zone).authenticate(base, envelope).arc.result is Result.NONE


def test_results_header_and_forged_results_removed(zone: AuthZone) -> None:
    found = run(zone, "a@bank.example", "a@bank.example", signer="bank",
                sign_domain="bank.example")
    value = header_value("gw.test", found, "a@bank.example")
    assert value.startswith("gw.test;\r\n\tspf=pass smtp.mailfrom=a@bank.example;")
    assert "dkim=pass header.d=bank.example header.s=k1 header.a=rsa-sha256" in value
    assert "dmarc=pass (p=reject dis=none) header.from=bank.example" in value
    forged = (b"Authentication-Results: GW.test (ours?); dkim=pass\r\n"
              b"Authentication-Results: other.example; spf=pass\r\n"
              b"Authentication-Results: gw.test;\r\n\tdmarc=pass\r\n") + message("a@x.example")
    cleaned = strip_results(forged, "gw.test")
    assert cleaned == b"Authentication-Results: other.example; spf=pass\r\n" + message(
        "a@x.example")
    assert strip_results(message("a@x.example"), "gw.test") == message("a@x.example")


def test_out_of_time_is_temperror_everywhere(zone: AuthZone) -> None:
    import asyncio

    from gateway.mail.envelope import Direction
    from gateway.mail.spool import Spool

    zone.server.behaviour["slow.example"] = "timeout"
    server = zone.server
    dns = DnsClient(DnsSettingsValue(((server.host, server.port),), 0.6, 1.5), DnsCache())
    slow = Authenticator(dns, None, "gw.test", time_limit=0.3)
    spool = Spool(1 << 20)
    spool.write(message("a@slow.example"))
    envelope = Envelope("a@slow.example", ("b@hue.gov.vn",), STRANGER_IP)
    found = asyncio.run(slow.verify(envelope, Direction.INBOUND, spool))
    assert found is not None
    assert found.summary() == "spf=temperror dkim=temperror dmarc=temperror arc=temperror"
    assert found.from_domain == "slow.example"
