"""Sender authentication through the live gateway, with a real DNS server on loopback:
agency mail leaves DKIM-signed (verified by dkimpy and OpenDKIM); forged official mail
from outside is refused, authenticated official mail passes, foreign DMARC p=reject is
honoured, a DNS failure tempfails, and forged Authentication-Results are dropped."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from gateway.auth.dns import DnsCache, DnsClient, DnsSettingsValue
from gateway.auth.results import Result
from gateway.auth.verify import verify_dkim
from gateway.config import Settings
from tests.support import opendkim
from tests.support.authzone import OFFICIAL_OUTBOUND_IP, STRANGER_IP, AuthZone, build_zone
from tests.support.dnsserver import DnsServer
from tests.support.live import (
    INSIDE_IP,
    Live,
    arrivals,
    command,
    live_gateway,
    live_settings,
    metric,
    send,
    started_sink,
    write_config,
)

AGENCY = "vanthu@sotttt.thuathienhue.gov.vn"
COLLEAGUE = "chanhvanphong@hue.gov.vn"
PARTNER = "doitac@example.org"


@pytest.fixture(scope="module")
def zone(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AuthZone]:
    built = build_zone(tmp_path_factory.mktemp("keys"))
    built.server.behaviour.update({"down.thuathienhue.gov.vn": "servfail",
                                   "_dmarc.down.thuathienhue.gov.vn": "servfail"})
    with built.server.running():
        yield built


@pytest.fixture(scope="module")
def live(zone: AuthZone, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    tmp = tmp_path_factory.mktemp("live-auth")
    base = live_settings("127.0.0.1:1", tmp, dns=zone.server.address)
    keys = [{"domain": key.domain, "selector": key.selector, "key": str(key.path)}
            for key in (zone.keys["official"], zone.keys["official-ed"])]
    data = {**base.model_dump(mode="json"), "dkim": {"signing": keys},
            "authentication": {"authserv_id": "gw.test"}}
    with started_sink() as sink:
        data["upstream"]["address"] = sink.address
        settings = Settings.model_validate(data, strict=False)
        with live_gateway(sink, settings) as running:
            yield running


def plain(sender: str, recipient: str, subject: str = "Giay moi hop", extra: str = "") -> bytes:
    return (f"{extra}From: {sender}\r\nTo: {recipient}\r\nSubject: {subject}\r\n"
            "Date: Fri, 04 Dec 2026 10:00:00 +0700\r\nMessage-ID: <a1@sotttt.thuathienhue.gov.vn>"
            "\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
            "Kinh gui,\r\n.\r\nTran trong.\r\n").encode()


def dns(zone: AuthZone) -> DnsClient:
    server = zone.server
    return DnsClient(DnsSettingsValue(((server.host, server.port),), 1.0, 3.0), DnsCache())


def test_agency_mail_leaves_signed_and_verifies_with_dkimpy_and_opendkim(
        live: Live, zone: AuthZone, tmp_path: Path) -> None:
    before = len(live.sink.messages)
    outcome = send(live, AGENCY, [PARTNER], plain(AGENCY, PARTNER), client_ip=INSIDE_IP)
    assert outcome.final[0] == 250, outcome
    (got,) = arrivals(live.sink, before, 1)
    head = got.content.split(b"\r\n\r\n")[0]
    assert head.startswith(b"DKIM-Signature: ")  # signed last, over every added field
    assert b"X-TTH-Policy" in head and b"Authentication-Results" not in head
    results = verify_dkim(got.content, dns(zone))
    assert {(r.domain, r.selector, r.result) for r in results} == {
        ("thuathienhue.gov.vn", "s2026", Result.PASS),
        ("thuathienhue.gov.vn", "e2026", Result.PASS),
    }
    # OpenDKIM (which cannot verify Ed25519) checks the RSA signature alone.
    rsa_only = b"\r\n".join(
        field for field in _fields(got.content) if b"a=ed25519-sha256" not in field)
    server = DnsServer(records=zone.server.records)
    with opendkim.resolving(server, tmp_path) as conf:
        verdict = opendkim.verify(rsa_only, conf)
    assert verdict.returncode == 0, verdict.stderr


def _fields(message: bytes) -> list[bytes]:
    """The header fields (with their continuation lines) and then the body, as one item."""
    head, _, body = message.partition(b"\r\n\r\n")
    fields: list[bytes] = []
    for line in head.split(b"\r\n"):
        if line[:1] in (b" ", b"\t") and fields:
            fields[-1] += b"\r\n" + line
        else:
            fields.append(line)
    return [*fields, b"", body]


def test_forged_official_mail_from_outside_is_refused(live: Live) -> None:
    before = len(live.sink.messages)
    outcome = send(live, AGENCY, [COLLEAGUE], plain(AGENCY, COLLEAGUE), client_ip=STRANGER_IP)
    assert outcome.data is not None and outcome.data[0] == 550, outcome
    assert len(live.sink.messages) == before
    record = live.last_audit()
    names = {rule["name"] for rule in record["rules"]}
    assert {"official-sender-from-outside", "official-from-from-outside",
            "dmarc-reject"} <= names
    assert record["authentication"]["spf"]["result"] == "fail"
    assert record["authentication"]["dmarc"] == {
        **record["authentication"]["dmarc"], "result": "fail", "policy": "reject"}


def test_genuine_official_mail_with_aligned_dkim_passes(live: Live, zone: AuthZone) -> None:
    before = len(live.sink.messages)
    raw = plain(AGENCY, COLLEAGUE)
    signed = zone.signer("official").sign(raw, "thuathienhue.gov.vn") + raw
    outcome = send(live, AGENCY, [COLLEAGUE], signed, client_ip=STRANGER_IP)
    assert outcome.final[0] == 250, outcome
    (got,) = arrivals(live.sink, before, 1)
    head = got.content.split(b"\r\n\r\n")[0].decode()
    assert "dkim=pass header.d=thuathienhue.gov.vn header.s=s2026" in head
    assert "dmarc=pass" in head and "auth=spf=fail dkim=pass dmarc=pass" in head
    assert metric("tth_auth_results_total", {"method": "dkim", "result": "pass"}) >= 1


def test_official_mail_sent_by_an_spf_listed_server_passes(live: Live) -> None:
    outcome = send(live, AGENCY, [COLLEAGUE], plain(AGENCY, COLLEAGUE),
                   client_ip=OFFICIAL_OUTBOUND_IP)
    assert outcome.final[0] == 250, outcome
    assert live.last_audit()["authentication"]["spf"]["result"] == "pass"


def test_foreign_dmarc_reject_is_honoured_and_quarantine_holds(live: Live) -> None:
    refused = send(live, "a@bank.example", [COLLEAGUE], plain("a@bank.example", COLLEAGUE),
                   client_ip=STRANGER_IP)
    assert refused.data is not None and refused.data[0] == 550
    assert "DMARC" in refused.data[1]
    assert [r["name"] for r in live.last_audit()["rules"]] == ["dmarc-reject"]
    held = send(live, "a@shop.example", [COLLEAGUE], plain("a@shop.example", COLLEAGUE),
                client_ip=STRANGER_IP)
    assert held.data is not None and held.data[0] == 250
    record = live.last_audit()
    assert (record["outcome"], [r["name"] for r in record["rules"]]) == \
        ("quarantined", ["dmarc-quarantine"])


@pytest.mark.parametrize("extra, from_", [("From: a@bank.example\r\n", "a@bank.example"),
                                          ("", "a@bank.example, b@other.example")])
def test_foreign_dmarc_reject_refuses_when_from_is_repeated_or_names_two(
        live: Live, extra: str, from_: str) -> None:
    outcome = send(live, "a@bank.example", [COLLEAGUE], plain(from_, COLLEAGUE, extra=extra),
                   client_ip=STRANGER_IP)
    assert outcome.data is not None and outcome.data[0] == 550, outcome
    assert "dmarc-reject" in [r["name"] for r in live.last_audit()["rules"]]


@pytest.mark.parametrize("from_, rule", [
    ("a@bank.example <vanthu@thuathienhue.gov.vn>", "official-from-from-outside"),
    ("a@bank.example <ceo@shop.example>", "dmarc-quarantine"),
    ("ceo@shop.example.", "dmarc-quarantine"),
])
def test_dmarc_checks_the_from_the_reader_sees(live: Live, zone: AuthZone, from_: str,
                                               rule: str) -> None:
    """`eve@x <manager@y>` shows (and is analysed) as manager@y: DMARC and the official-From
    rule judge that mailbox, not the address-like display name the attacker signed for."""
    raw = plain(from_, COLLEAGUE)
    signed = zone.signer("bank").sign(raw, "bank.example") + raw
    send(live, "a@bank.example", [COLLEAGUE], signed, client_ip=STRANGER_IP)
    record = live.last_audit()
    assert rule in [r["name"] for r in record["rules"]]
    assert record["authentication"]["dmarc"]["result"] == "fail"
    assert record["authentication"]["dmarc"]["domain"] != "bank.example"


def test_dns_failure_on_an_official_claim_tempfails(live: Live) -> None:
    sender = "vanthu@down.thuathienhue.gov.vn"
    outcome = send(live, sender, [COLLEAGUE], plain(sender, COLLEAGUE), client_ip=STRANGER_IP)
    assert outcome.data is not None and outcome.data[0] == 451, outcome
    assert live.last_audit()["authentication"]["spf"]["result"] == "temperror"


FORGED_RESULTS = ("Authentication-Results: gw.test; dkim=pass header.d=thuathienhue.gov.vn\r\n"
                  'Authentication-Results: "gw.test"; dkim=pass header.d=hue.gov.vn\r\n'
                  "Authentication-Results: (x (y) z) GW.test; dkim=pass header.d=a.vn\r\n")


def test_forged_results_claiming_the_gateway_are_dropped(live: Live) -> None:
    before = len(live.sink.messages)
    raw = plain("nguoidan@gmail.com", COLLEAGUE, extra=FORGED_RESULTS)
    outcome = send(live, "nguoidan@gmail.com", [COLLEAGUE], raw, client_ip=STRANGER_IP)
    assert outcome.final[0] == 250
    (got,) = arrivals(live.sink, before, 1)
    fields = [f for f in _fields(got.content) if f.startswith(b"Authentication-Results:")]
    assert len(fields) == 1 and b"dkim=none" in fields[0]


def test_forged_results_are_dropped_from_mail_from_inside_too(live: Live, zone: AuthZone) -> None:
    """RFC 8601 5: whatever the origin; an agency's mailer does not speak for the gateway."""
    before = len(live.sink.messages)
    raw = plain(AGENCY, PARTNER, extra=FORGED_RESULTS
                + "Authentication-Results: mail.partner.example; spf=pass\r\n")
    outcome = send(live, AGENCY, [PARTNER], raw, client_ip=INSIDE_IP)
    assert outcome.final[0] == 250, outcome
    (got,) = arrivals(live.sink, before, 1)
    fields = [f for f in _fields(got.content) if f.startswith(b"Authentication-Results:")]
    assert fields == [b"Authentication-Results: mail.partner.example; spf=pass"]
    assert {r.result for r in verify_dkim(got.content, dns(zone))} == {Result.PASS}


def test_check_reports_authentication_with_its_own_resolver(
        live: Live, zone: AuthZone, tmp_path: Path) -> None:
    raw = plain(AGENCY, COLLEAGUE)
    eml = tmp_path / "m.eml"
    eml.write_bytes(zone.signer("official").sign(raw, "thuathienhue.gov.vn") + raw)
    config = write_config(live.settings, tmp_path / "gateway.json")
    done = command("check", str(eml), "--json", "--config", str(config), "--client-ip",
                   STRANGER_IP, "--mail-from", AGENCY, "--dns", zone.server.address, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    auth = json.loads(done.stdout)["authentication"]
    assert auth["dkim"][0] | {"reason": ""} == {
        "domain": "thuathienhue.gov.vn", "selector": "s2026", "result": "pass",
        "algorithm": "rsa-sha256", "aligned": True, "reason": ""}
    assert (auth["spf"]["result"], auth["dmarc"]["result"], auth["dmarc"]["policy"],
            auth["dmarc"]["domain"], auth["arc"]["result"]) == \
        ("fail", "pass", "reject", "sotttt.thuathienhue.gov.vn", "none")
    table = command("check", str(eml), "--config", str(config), "--client-ip", STRANGER_IP,
                    "--mail-from", AGENCY, "--dns", zone.server.address, cwd=tmp_path)
    assert b"authentication:  spf=fail" in table.stdout
