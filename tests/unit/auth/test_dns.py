"""The DNS client against a real DNS server on loopback: answers, cache, every failure mode."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from gateway.auth.dns import DnsCache, DnsClient, DnsSettingsValue, DnsTempError
from tests.support.dnsserver import DnsServer


@pytest.fixture
def server() -> Iterator[DnsServer]:
    zone = DnsServer()
    zone.txt("example.test", "v=spf1 -all")
    zone.add("example.test", "A", "192.0.2.1")
    zone.add("example.test", "MX", "10 mx.example.test.")
    zone.txt("big.example.test", "x" * 1500)
    zone.behaviour.update({"slow.example.test": "timeout", "broken.example.test": "servfail",
                           "big.example.test": "truncate"})
    with zone.running():
        yield zone


def client(server: DnsServer, cache: DnsCache | None = None) -> DnsClient:
    settings = DnsSettingsValue(((server.host, server.port),), timeout=0.5, lifetime=1.5)
    return DnsClient(settings, cache or DnsCache())


def test_records_and_nodata_and_nxdomain(server: DnsServer) -> None:
    dns = client(server)
    assert dns.lookup("example.test", "TXT").records == (b"v=spf1 -all",)
    assert dns.lookup("Example.Test.", "MX").records == (b"10 mx.example.test",)
    nodata = dns.lookup("example.test", "AAAA")
    assert nodata.records == () and not nodata.nxdomain and nodata.void
    assert dns.lookup("nothing.example.test", "TXT").nxdomain


def test_answers_come_from_the_cache_until_their_ttl_ends(server: DnsServer) -> None:
    now = [1000.0]
    cache = DnsCache(clock=lambda: now[0])
    dns = client(server, cache)
    dns.lookup("example.test", "TXT")
    dns.lookup("nothing.example.test", "TXT")
    dns.lookup("example.test", "TXT")
    dns.lookup("nothing.example.test", "TXT")
    assert [q[0] for q in server.queries] == ["example.test", "nothing.example.test"]
    now[0] += 31  # the SOA minimum (30 s) bounds the negative answer; 300 s the positive one
    dns.lookup("example.test", "TXT")
    dns.lookup("nothing.example.test", "TXT")
    assert [q[0] for q in server.queries][2:] == ["nothing.example.test"]
    now[0] += 300
    dns.lookup("example.test", "TXT")
    assert server.queries[-1][0] == "example.test"


def test_timeout_is_a_temporary_error_within_the_lifetime(server: DnsServer) -> None:
    with pytest.raises(DnsTempError, match="timeout"):
        client(server).lookup("slow.example.test", "TXT")


def test_servfail_is_a_temporary_error(server: DnsServer) -> None:
    with pytest.raises(DnsTempError, match="SERVFAIL"):
        client(server).lookup("broken.example.test", "TXT")


def test_truncated_udp_answer_is_fetched_again_over_tcp(server: DnsServer) -> None:
    assert client(server).lookup("big.example.test", "TXT").records == (b"x" * 1500,)
    assert [q[2] for q in server.queries if q[0] == "big.example.test"] == ["udp", "tcp"]


def test_failures_are_not_cached(server: DnsServer) -> None:
    dns = client(server)
    for _ in range(2):
        with pytest.raises(DnsTempError):
            dns.lookup("broken.example.test", "TXT")
    assert len([q for q in server.queries if q[0] == "broken.example.test"]) >= 2


def test_no_server_listening_is_a_temporary_error() -> None:
    settings = DnsSettingsValue((("127.0.0.1", 9),), timeout=0.3, lifetime=0.8)
    with pytest.raises(DnsTempError):
        DnsClient(settings, DnsCache()).lookup("example.test", "TXT")
