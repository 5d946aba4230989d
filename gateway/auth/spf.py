"""SPF, RFC 7208 check_host() on the gateway's DNS client.

Limits (4.6.4): at most 10 mechanisms and modifiers that query DNS (include,
a, mx, ptr, exists, redirect), at most 2 void lookups, at most 10 MX or PTR
names looked at per mechanism; going over is `permerror`. A DNS failure is
`temperror`. `exp=` is not evaluated (the gateway writes its own reasons).
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass

from gateway.auth.dns import DnsClient, DnsTempError, Lookup, ascii_domain
from gateway.auth.results import Result, SpfResult

MAX_LOOKUPS = 10
MAX_VOID = 2
MAX_NAMES = 10

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

_QUALIFIERS = {"+": Result.PASS, "-": Result.FAIL, "~": Result.SOFTFAIL, "?": Result.NEUTRAL}
_MECHANISMS = ("all", "include", "a", "mx", "ptr", "ip4", "ip6", "exists")
_TERM = re.compile(r"^([+\-~?]?)([A-Za-z][A-Za-z0-9_.-]*)(?:([:/])(.*))?$")
_MODIFIER = re.compile(r"^([A-Za-z][A-Za-z0-9_.-]*)=(.*)$")
_MACRO = re.compile(r"%(?:\{([slodiphcrtvSLODIPHCRTV])(\d*)(r?)([.\-+,/_=]*)\}|(.))")
_CIDR = re.compile(r"^(.*?)(?:/(\d+))?(?://(\d+))?$")


class PermError(Exception):
    """The record cannot be evaluated (syntax, limits): `permerror`."""


class TempError(Exception):
    """A DNS lookup failed for now: `temperror`."""


@dataclass(slots=True)
class _Budget:
    lookups: int = 0
    voids: int = 0

    def spend(self) -> None:
        self.lookups += 1
        if self.lookups > MAX_LOOKUPS:
            raise PermError(f"more than {MAX_LOOKUPS} DNS-querying terms")

    def void(self, lookup: Lookup) -> None:
        if lookup.void:
            self.voids += 1
            if self.voids > MAX_VOID:
                raise PermError(f"more than {MAX_VOID} void lookups")


@dataclass(frozen=True, slots=True)
class _Identity:
    ip: IPAddress
    sender: str
    helo: str


class SpfChecker:
    """check_host() for one message; `check` never raises."""

    def __init__(self, dns: DnsClient) -> None:
        self.dns = dns

    def check(self, ip: str | None, mail_from: str, helo: str | None) -> SpfResult:
        """The SPF result of the MAIL FROM identity, or of HELO when MAIL FROM is empty."""
        helo_name = (helo or "").strip().rstrip(".").lower()
        if mail_from:
            local, _, domain = mail_from.rpartition("@")
            sender, scope = (mail_from if local else f"postmaster@{domain}"), "mailfrom"
        else:
            domain, sender, scope = helo_name, f"postmaster@{helo_name}", "helo"
        domain = ascii_domain(domain)
        try:
            address = ipaddress.ip_address((ip or "").removeprefix("IPv6:"))
        except ValueError:
            return SpfResult(Result.NONE, domain, scope, "no client address")
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
            address = address.ipv4_mapped
        if not _valid_domain(domain):
            return SpfResult(Result.NONE, domain, scope, "no valid domain to check")
        identity = _Identity(address, sender, helo_name)
        try:
            result, why = self._check_host(identity, domain, _Budget())
        except PermError as exc:
            return SpfResult(Result.PERMERROR, domain, scope, str(exc))
        except TempError as exc:
            return SpfResult(Result.TEMPERROR, domain, scope, str(exc))
        return SpfResult(result, domain, scope, why)

    def _lookup(self, name: str, rdtype: str) -> Lookup:
        try:
            return self.dns.lookup(name, rdtype)
        except DnsTempError as exc:
            raise TempError(str(exc)) from exc

    def _record(self, domain: str) -> str | None:
        found = [
            text for text in (raw.decode("utf-8", "replace")
                              for raw in self._lookup(domain, "TXT").records)
            if text.lower() == "v=spf1" or text.lower().startswith("v=spf1 ")
        ]
        if len(found) > 1:
            raise PermError(f"{domain} publishes {len(found)} SPF records")
        return found[0] if found else None

    def _check_host(self, who: _Identity, domain: str, budget: _Budget) -> tuple[Result, str]:
        record = self._record(domain)
        if record is None:
            return Result.NONE, f"{domain} publishes no SPF record"
        directives, redirect = _parse(record)
        for qualifier, name, argument, cidr in directives:
            if self._matches(who, domain, name, argument, cidr, budget):
                return _QUALIFIERS[qualifier or "+"], f"{domain}: matched {qualifier}{name}"
        if redirect is not None:
            budget.spend()
            target = _expand(redirect, who, domain)
            if self._record(target) is None:
                raise PermError(f"redirect to {target}, which has no SPF record")
            return self._check_host(who, target, budget)
        return Result.NEUTRAL, f"{domain}: no mechanism matched"

    def _matches(self, who: _Identity, domain: str, name: str, argument: str | None,
                 cidr: tuple[int | None, int | None], budget: _Budget) -> bool:
        if name == "all":
            return True
        if name in ("ip4", "ip6"):
            return _in_network(who.ip, argument or "", name)
        budget.spend()
        target = _expand(argument, who, domain) if argument else domain
        if name == "include":
            if not argument:
                raise PermError("include without a domain")
            result, _ = self._check_host(who, target, budget)
            if result is Result.NONE:
                raise PermError(f"include:{target} has no SPF record")
            return result is Result.PASS
        if name == "a":
            return self._address_match(who.ip, target, cidr, budget)
        if name == "mx":
            lookup = self._lookup(target, "MX")
            budget.void(lookup)
            if len(lookup.records) > MAX_NAMES:
                raise PermError(f"{target} has more than {MAX_NAMES} MX records")
            exchanges = [raw.decode().split()[-1] for raw in lookup.records]
            return any(self._address_match(who.ip, host, cidr, budget) for host in exchanges)
        if name == "ptr":
            return self._ptr_match(who.ip, target)
        if name == "exists":
            lookup = self._lookup(target, "A")
            budget.void(lookup)
            return bool(lookup.records)
        raise PermError(f"unknown mechanism {name}")

    def _address_match(self, ip: IPAddress, host: str, cidr: tuple[int | None, int | None],
                       budget: _Budget) -> bool:
        version6 = isinstance(ip, ipaddress.IPv6Address)
        lookup = self._lookup(host, "AAAA" if version6 else "A")
        budget.void(lookup)
        prefix = cidr[1] if version6 else cidr[0]
        bits = prefix if prefix is not None else (128 if version6 else 32)
        return any(
            ip in ipaddress.ip_network(f"{raw.decode()}/{bits}", strict=False)
            for raw in lookup.records
        )

    def _ptr_match(self, ip: IPAddress, target: str) -> bool:
        """RFC 7208 5.5: validated reverse names under `target` (lookup errors: no match)."""
        try:
            names = self.dns.lookup(ip.reverse_pointer, "PTR").records[:MAX_NAMES]
            for raw in names:
                name = raw.decode().lower()
                if not (name == target or name.endswith("." + target)):
                    continue
                kind = "AAAA" if isinstance(ip, ipaddress.IPv6Address) else "A"
                if str(ip).encode() in self.dns.lookup(name, kind).records:
                    return True
        except DnsTempError:
            return False
        return False


def _parse(record: str) -> tuple[list[tuple[str, str, str | None, tuple[int | None, int | None]]],
                                 str | None]:
    directives = []
    redirect: str | None = None
    seen: set[str] = set()
    for term in record.split()[1:]:
        modifier = _MODIFIER.match(term)
        if modifier and modifier.group(1).lower() not in _MECHANISMS:
            key = modifier.group(1).lower()
            if key in ("redirect", "exp"):
                if key in seen:
                    raise PermError(f"{key}= given twice")
                seen.add(key)
                _check_macros(modifier.group(2))
                if key == "redirect":
                    redirect = modifier.group(2)
            continue
        match = _TERM.match(term)
        if match is None or match.group(2).lower() not in _MECHANISMS:
            raise PermError(f"unknown term {term!r}")
        qualifier, name, sep, rest = match.groups()
        name = name.lower()
        argument, cidr = _argument(name, sep, rest)
        directives.append((qualifier, name, argument, cidr))
    if any(name == "all" for _, name, _, _ in directives):
        redirect = None  # RFC 7208 6.1: redirect is ignored when there is an "all"
    return directives, redirect


def _argument(name: str, sep: str | None, rest: str | None
              ) -> tuple[str | None, tuple[int | None, int | None]]:
    text = "" if sep is None else (sep + (rest or "")).removeprefix(":")
    if name == "all":
        if text:
            raise PermError("all takes no argument")
        return None, (None, None)
    if name in ("ip4", "ip6"):
        if sep != ":" or not text:
            raise PermError(f"{name} needs an address")
        return text, (None, None)
    if name in ("a", "mx"):
        found = _CIDR.match(text)
        assert found is not None
        spec, four, six = found.groups()
        v4 = int(four) if four is not None else None
        v6 = int(six) if six is not None else None
        if (v4 is not None and v4 > 32) or (v6 is not None and v6 > 128):
            raise PermError(f"bad prefix length in {name}{text}")
        if spec:
            _check_macros(spec)
        return spec or None, (v4, v6)
    if sep == "/" or (name in ("include", "exists") and not text):
        raise PermError(f"{name} needs a domain")
    if text:
        _check_macros(text)
    return text or None, (None, None)


def _in_network(ip: IPAddress, text: str, name: str) -> bool:
    try:
        network = ipaddress.ip_network(text, strict=False)
    except ValueError as exc:
        raise PermError(f"bad {name} network {text!r}") from exc
    if (name == "ip4") != (network.version == 4):
        raise PermError(f"{name} with an address of the other family")
    return network.version == ip.version and ip in network


def _check_macros(text: str) -> None:
    rest = _MACRO.sub("", text)
    if "%" in rest:
        raise PermError(f"bad macro in {text!r}")
    for match in _MACRO.finditer(text):
        if match.group(5) is not None and match.group(5) not in "%_-":
            raise PermError(f"bad macro %{match.group(5)} in {text!r}")


def _expand(spec: str, who: _Identity, domain: str) -> str:
    """RFC 7208 7: macro expansion of a domain-spec, then truncation to 253 characters."""
    local, _, sender_domain = who.sender.rpartition("@")

    def letter(key: str) -> str:
        if key == "s":
            return who.sender
        if key == "l":
            return local or "postmaster"
        if key == "o":
            return sender_domain
        if key == "d":
            return domain
        if key in ("i", "c"):
            if isinstance(who.ip, ipaddress.IPv6Address) and key == "i":
                return ".".join(who.ip.exploded.replace(":", ""))
            return str(who.ip)
        if key == "v":
            return "ip6" if isinstance(who.ip, ipaddress.IPv6Address) else "in-addr"
        if key == "h":
            return who.helo
        return "unknown"  # p (RFC 7208 recommends not to resolve it), r, t

    def replace(match: re.Match[str]) -> str:
        if match.group(5) is not None:
            return {"%": "%", "_": " ", "-": "%20"}[match.group(5)]
        key, digits, reverse, delimiters = match.group(1, 2, 3, 4)
        parts = re.split("[" + re.escape(delimiters or ".") + "]", letter(key.lower()))
        if reverse:
            parts.reverse()
        if digits:
            if int(digits) == 0:
                raise PermError("macro with zero labels")
            parts = parts[-int(digits):]
        return ".".join(parts)

    expanded = _MACRO.sub(replace, spec).rstrip(".").lower()
    while len(expanded) > 253 and "." in expanded:
        expanded = expanded.split(".", 1)[1]
    return expanded


def _valid_domain(domain: str) -> bool:
    labels = domain.split(".")
    return len(labels) > 1 and all(0 < len(label) <= 63 for label in labels)
