"""DNS for sender authentication: configured resolvers, bounded time, a TTL-honouring cache.

Every lookup ends within `lifetime` seconds with records, an empty answer
(NODATA), NXDOMAIN, or `DnsTempError` (timeout, SERVFAIL, refused, no
resolver answering): never a hang, and a failure is never mistaken for an
empty answer. A truncated UDP answer is retried over TCP by dnspython.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

import dns.exception
import dns.message
import dns.name
import dns.nameserver
import dns.rdatatype
import dns.resolver
import idna

#: How long an answer without a usable TTL (NXDOMAIN without SOA) is kept, in seconds.
NEGATIVE_TTL = 60
MAX_TTL = 86400


class DnsTempError(Exception):
    """The lookup could not be completed now (RFC 7208 / RFC 7489 `temperror`)."""


@dataclass(frozen=True, slots=True)
class Lookup:
    """The answer to one question: text forms of the records, or NXDOMAIN.

    TXT records are the joined strings (bytes); A/AAAA the addresses; MX
    `preference exchange`; PTR and CNAME the target names (lower case, no final dot).
    """

    records: tuple[bytes, ...] = ()
    nxdomain: bool = False

    @property
    def void(self) -> bool:
        """NXDOMAIN or no record: a "void lookup" of RFC 7208 4.6.4."""
        return self.nxdomain or not self.records


class DnsCache:
    """Answers kept until their TTL ends; one per process, shared by every lookup (thread-safe)."""

    def __init__(self, size: int = 10000, clock: Callable[[], float] = time.monotonic) -> None:
        self.size = size
        self._clock = clock
        self._entries: OrderedDict[tuple[str, str], tuple[float, Lookup]] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def get(self, key: tuple[str, str]) -> Lookup | None:
        with self._lock:
            entry = self._entries.get(key)
            if entry is None or entry[0] <= self._clock():
                self._entries.pop(key, None)
                self.misses += 1
                return None
            self._entries.move_to_end(key)
            self.hits += 1
            return entry[1]

    def put(self, key: tuple[str, str], lookup: Lookup, ttl: int) -> None:
        if ttl <= 0 or self.size == 0:
            return
        with self._lock:
            self._entries[key] = (self._clock() + min(ttl, MAX_TTL), lookup)
            self._entries.move_to_end(key)
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)


@dataclass(frozen=True, slots=True)
class DnsSettingsValue:
    """Where to ask and how long to wait: `nameservers` as (host, port); empty = the system's."""

    nameservers: tuple[tuple[str, int], ...] = ()
    timeout: float = 3.0
    lifetime: float = 8.0


class DnsClient:
    """Synchronous lookups (run in a thread by the caller) through a shared `DnsCache`."""

    def __init__(self, settings: DnsSettingsValue, cache: DnsCache) -> None:
        self.settings = settings
        self.cache = cache
        if settings.nameservers:
            resolver = dns.resolver.Resolver(configure=False)
            resolver.nameservers = [
                dns.nameserver.Do53Nameserver(host, port) for host, port in settings.nameservers
            ]
        else:
            resolver = dns.resolver.Resolver()
        resolver.timeout = settings.timeout
        resolver.lifetime = settings.lifetime
        resolver.cache = None
        self._resolver = resolver

    def lookup(self, name: str, rdtype: str) -> Lookup:
        """The records of `rdtype` at `name`; raises DnsTempError."""
        key = (name.lower().rstrip("."), rdtype)
        cached = self.cache.get(key)
        if cached is not None:
            return cached
        try:
            qname = dns.name.from_text(key[0] + ".")
        except (dns.exception.DNSException, UnicodeError, ValueError) as exc:
            # RFC 7208 4.3/RFC 6376: a name that is not a name has no records.
            del exc
            return Lookup(nxdomain=True)
        try:
            answer = self._resolver.resolve(qname, rdtype, raise_on_no_answer=False,
                                            search=False)
        except dns.resolver.NXDOMAIN as exc:
            lookup = Lookup(nxdomain=True)
            responses = exc.kwargs.get("responses", {})
            self.cache.put(key, lookup, _negative_ttl(responses.values()))
            return lookup
        except (dns.resolver.LifetimeTimeout, dns.exception.Timeout) as exc:
            raise DnsTempError(f"{key[0]} {rdtype}: timeout") from exc
        except dns.resolver.NoNameservers as exc:
            raise DnsTempError(f"{key[0]} {rdtype}: no server answered (SERVFAIL)") from exc
        except dns.exception.DNSException as exc:
            raise DnsTempError(f"{key[0]} {rdtype}: {type(exc).__name__}") from exc
        if answer.rrset is None:
            lookup = Lookup()
            self.cache.put(key, lookup, _negative_ttl([answer.response]))
            return lookup
        lookup = Lookup(records=tuple(_text(rdata) for rdata in answer.rrset))
        self.cache.put(key, lookup, answer.rrset.ttl)
        return lookup


def ascii_domain(domain: str) -> str:
    """`domain` as DNS asks for it: IDNA A-labels (UTS 46), lower case, no final dot;
    "" when it is not a valid domain name."""
    text = domain.strip().rstrip(".")
    if text.isascii():
        return text.lower()
    try:
        return idna.encode(text, uts46=True).decode("ascii").lower()
    except (idna.IDNAError, UnicodeError, ValueError):
        return ""


def _text(rdata: object) -> bytes:
    strings = getattr(rdata, "strings", None)
    if strings is not None:
        return b"".join(strings)
    exchange = getattr(rdata, "exchange", None)
    if exchange is not None:
        return f"{rdata.preference} {_name(exchange)}".encode()  # type: ignore[attr-defined]
    target = getattr(rdata, "target", None)
    if target is not None:
        return _name(target).encode()
    return str(rdata).encode()


def _name(name: dns.name.Name) -> str:
    return name.to_text(omit_final_dot=True).lower()


def _negative_ttl(responses: object) -> int:
    """RFC 2308: the SOA's minimum (bounded by its TTL) from the authority section."""
    for response in responses:  # type: ignore[attr-defined]
        if isinstance(response, dns.message.Message):
            for rrset in response.authority:
                if rrset.rdtype == dns.rdatatype.SOA:
                    return int(min(rrset.ttl, rrset[0].minimum))
    return NEGATIVE_TTL
