"""SPF (RFC 7208) against a real DNS server: every result, the limits, macros, DNS failures."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from gateway.auth.dns import DnsCache, DnsClient, DnsSettingsValue
from gateway.auth.results import Result
from gateway.auth.spf import SpfChecker
from tests.support.dnsserver import DnsServer

IP = "203.0.113.7"


@pytest.fixture(scope="module")
def zone() -> Iterator[DnsServer]:
    z = DnsServer()
    records = {
        "pass.test": "v=spf1 ip4:203.0.113.0/24 -all",
        "fail.test": "v=spf1 ip4:198.51.100.1 -all",
        "soft.test": "v=spf1 ~all",
        "neutral.test": "v=spf1 ?all",
        "nothing.test": "v=spf1",
        "include.test": "v=spf1 include:pass.test -all",
        "include-none.test": "v=spf1 include:norecord.test -all",
        "redirect.test": "v=spf1 redirect=pass.test",
        "redirect-none.test": "v=spf1 redirect=norecord.test",
        "a.test": "v=spf1 a/24 -all",
        "mx.test": "v=spf1 mx -all",
        "exists.test": "v=spf1 exists:%{i}.ok.exists.test -all",
        "macro.test": "v=spf1 exists:%{l}.%{o}.users.macro.test -all",
        "six.test": "v=spf1 ip6:2001:db8::/32 -all",
        "two.test": "v=spf1 -all",
        "syntax.test": "v=spf1 ip4:not-an-ip -all",
        "unknown.test": "v=spf1 frobnicate -all",
        "void.test": "v=spf1 a:v1.void.test a:v2.void.test a:v3.void.test ip4:203.0.113.7 -all",
        "broken-include.test": "v=spf1 include:down.test -all",
        "ptr.test": "v=spf1 ptr -all",
    }
    for name, value in records.items():
        z.txt(name, value)
    z.txt("two.test", "v=spf1 +all")
    z.txt("norecord.test", "some other text")
    for index in range(12):
        z.txt(f"loop{index}.test", f"v=spf1 include:loop{index + 1}.test -all")
    z.add("a.test", "A", "203.0.113.200")
    z.add("mx.test", "MX", "10 mail.mx.test.")
    z.add("mail.mx.test", "A", "203.0.113.7")
    z.add("203.0.113.7.ok.exists.test", "A", "127.0.0.2")
    z.add("alice.macro.test.users.macro.test", "A", "127.0.0.2")
    z.add("7.113.0.203.in-addr.arpa", "PTR", "host.ptr.test.")
    z.add("host.ptr.test", "A", "203.0.113.7")
    z.behaviour.update({"down.test": "servfail", "slow.test": "timeout"})
    with z.running():
        yield z


def spf(zone: DnsServer, domain: str, ip: str = IP, local: str = "bob") -> tuple[Result, str]:
    dns = DnsClient(DnsSettingsValue(((zone.host, zone.port),), 0.5, 1.5), DnsCache())
    found = SpfChecker(dns).check(ip, f"{local}@{domain}", "helo.example")
    return found.result, found.reason


@pytest.mark.parametrize(("domain", "expected"), [
    ("pass.test", Result.PASS),
    ("fail.test", Result.FAIL),
    ("soft.test", Result.SOFTFAIL),
    ("neutral.test", Result.NEUTRAL),
    ("nothing.test", Result.NEUTRAL),
    ("norecord.test", Result.NONE),
    ("nxdomain.test", Result.NONE),
    ("include.test", Result.PASS),
    ("redirect.test", Result.PASS),
    ("a.test", Result.PASS),
    ("mx.test", Result.PASS),
    ("exists.test", Result.PASS),
    ("ptr.test", Result.PASS),
    ("six.test", Result.FAIL),
    ("two.test", Result.PERMERROR),
    ("syntax.test", Result.PERMERROR),
    ("unknown.test", Result.PERMERROR),
    ("include-none.test", Result.PERMERROR),
    ("redirect-none.test", Result.PERMERROR),
    ("loop0.test", Result.PERMERROR),
    ("void.test", Result.PERMERROR),
    ("broken-include.test", Result.TEMPERROR),
    ("down.test", Result.TEMPERROR),
    ("slow.test", Result.TEMPERROR),
])
def test_every_result(zone: DnsServer, domain: str, expected: Result) -> None:
    assert spf(zone, domain)[0] is expected


def test_limits_are_named(zone: DnsServer) -> None:
    assert "more than 10 DNS-querying terms" in spf(zone, "loop0.test")[1]
    assert "void lookups" in spf(zone, "void.test")[1]


def test_macros_and_ipv6(zone: DnsServer) -> None:
    assert spf(zone, "macro.test", local="alice")[0] is Result.PASS
    assert spf(zone, "macro.test", local="mallory")[0] is Result.FAIL
    assert spf(zone, "six.test", ip="2001:db8::25")[0] is Result.PASS
    assert spf(zone, "pass.test", ip="::ffff:203.0.113.9")[0] is Result.PASS


def test_empty_sender_checks_helo(zone: DnsServer) -> None:
    dns = DnsClient(DnsSettingsValue(((zone.host, zone.port),), 0.5, 1.5), DnsCache())
    found = SpfChecker(dns).check(IP, "", "pass.test")
    assert (found.result, found.scope, found.domain) == (Result.PASS, "helo", "pass.test")


def test_an_internationalised_sender_domain_is_looked_up_as_a_labels(zone: DnsServer) -> None:
    zone.txt("xn--hu-07s.test", "v=spf1 ip4:203.0.113.7 -all")
    dns = DnsClient(DnsSettingsValue(((zone.host, zone.port),), 0.5, 1.5), DnsCache())
    found = SpfChecker(dns).check(IP, "thư@huế.test", "helo.example")
    assert (found.result, found.domain) == (Result.PASS, "xn--hu-07s.test")
