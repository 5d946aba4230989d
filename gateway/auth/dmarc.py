"""DMARC, RFC 7489: record discovery at the From domain or its organisational domain,
identifier alignment (strict or relaxed), p=/sp=/pct=."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, replace

from publicsuffixlist import PublicSuffixList

from gateway.auth.dns import DnsClient, DnsTempError
from gateway.auth.results import DkimResult, DmarcResult, Result, SpfResult

_POLICIES = ("none", "quarantine", "reject")
#: What applies to a message left out by pct= sampling (RFC 7489 6.6.4).
_LOWER = {"reject": "quarantine", "quarantine": "none", "none": "none"}


class BadRecord(Exception):
    """A DMARC record that cannot be used (several, or no valid policy): `permerror`."""


@dataclass(frozen=True, slots=True)
class DmarcRecord:
    policy: str
    subdomain_policy: str | None
    adkim: str
    aspf: str
    pct: int


def parse_record(text: str) -> DmarcRecord | None:
    """The tags of a `v=DMARC1` record; None when it is not a usable DMARC record."""
    tags: dict[str, str] = {}
    for part in text.split(";"):
        key, sep, value = part.strip().partition("=")
        if sep:
            tags.setdefault(key.strip().lower(), value.strip())
    if tags.get("v") != "DMARC1" or not text.strip().startswith("v"):
        return None
    policy = tags.get("p", "").lower()
    if policy not in _POLICIES:
        if "rua" not in tags:
            return None
        policy = "none"  # RFC 7489 6.6.3: a bad p= with rua= is treated as p=none
    subdomain = tags.get("sp", "").lower()
    try:
        pct = max(0, min(100, int(tags.get("pct", "100"))))
    except ValueError:
        pct = 100
    return DmarcRecord(
        policy=policy,
        subdomain_policy=subdomain if subdomain in _POLICIES else None,
        adkim="s" if tags.get("adkim", "r").lower() == "s" else "r",
        aspf="s" if tags.get("aspf", "r").lower() == "s" else "r",
        pct=pct,
    )


def _strictness(result: DmarcResult) -> int:
    """Lower is stricter: a failure by what it asks, then errors, none, pass."""
    if result.result is Result.FAIL:
        return ("reject", "quarantine").index(result.disposition) \
            if result.disposition in ("reject", "quarantine") else 2
    order = (Result.TEMPERROR, Result.PERMERROR, Result.NONE)
    return 3 + order.index(result.result) if result.result in order else 6


def strictest(results: list[DmarcResult]) -> DmarcResult:
    """RFC 7489 6.6.1: a From naming several domains gets the strictest policy among the
    checks that fail (and a pass only when every domain passes)."""
    chosen = min(results, key=_strictness)
    if len(results) == 1:
        return chosen
    return replace(chosen, reason=f"{chosen.reason} (the strictest of the {len(results)} "
                                  "From domains)".lstrip())


class DmarcChecker:
    """Evaluates DMARC for one message, from the SPF and DKIM results already known."""

    def __init__(self, dns: DnsClient, suffixes: PublicSuffixList,
                 sample: Callable[[], float] = random.random) -> None:
        self.dns = dns
        self.suffixes = suffixes
        self.sample = sample

    def organisational(self, domain: str) -> str:
        """The registrable domain of `domain` (the domain itself when it is a public suffix)."""
        return self.suffixes.privatesuffix(domain) or domain

    def aligned(self, one: str, other: str, mode: str) -> bool:
        one, other = one.lower().rstrip("."), other.lower().rstrip(".")
        if mode == "s":
            return one == other
        return bool(one) and self.organisational(one) == self.organisational(other)

    def check(self, from_domain: str, spf: SpfResult, dkim: tuple[DkimResult, ...]) -> DmarcResult:
        if not from_domain:
            return DmarcResult(Result.NONE, reason="no single From domain")
        try:
            found = self._discover(from_domain)
        except DnsTempError as exc:
            return DmarcResult(Result.TEMPERROR, from_domain, reason=str(exc))
        except BadRecord as exc:
            return DmarcResult(Result.PERMERROR, from_domain, reason=str(exc))
        if found is None:
            return DmarcResult(Result.NONE, from_domain, reason="no DMARC record")
        record_domain, record = found
        policy = record.policy
        if record_domain != from_domain and record.subdomain_policy is not None:
            policy = record.subdomain_policy
        aligned = []
        if any(item.result is Result.PASS and self.aligned(item.domain, from_domain, record.adkim)
               for item in dkim):
            aligned.append("dkim")
        if spf.result is Result.PASS and spf.scope == "mailfrom" and \
                self.aligned(spf.domain, from_domain, record.aspf):
            aligned.append("spf")
        if aligned:
            return DmarcResult(Result.PASS, from_domain, record_domain, policy, "none",
                               tuple(aligned))
        if spf.result is Result.TEMPERROR or any(i.result is Result.TEMPERROR for i in dkim):
            return DmarcResult(Result.TEMPERROR, from_domain, record_domain, policy, None,
                               reason="no aligned pass, and a lookup failed")
        applies = record.pct >= 100 or self.sample() * 100 < record.pct
        disposition = policy if applies else _LOWER[policy]
        return DmarcResult(Result.FAIL, from_domain, record_domain, policy, disposition,
                           reason="neither DKIM nor SPF passed aligned with the From domain")

    def _discover(self, domain: str) -> tuple[str, DmarcRecord] | None:
        """RFC 7489 6.6.3: _dmarc.<From domain>, then _dmarc.<organisational domain>."""
        organisational = self.organisational(domain)
        for name in dict.fromkeys((domain, organisational)):
            texts = [raw.decode("utf-8", "replace")
                     for raw in self.dns.lookup(f"_dmarc.{name}", "TXT").records]
            records = [parse_record(text) for text in texts if text.startswith("v=DMARC1")]
            if len(records) > 1:
                raise BadRecord(f"_dmarc.{name} publishes {len(records)} DMARC records")
            if records and records[0] is None:
                raise BadRecord(f"_dmarc.{name}: the record has no valid p= tag")
            if records and records[0] is not None:
                return name, records[0]
        return None
