"""Named lists of domains, addresses and networks, compiled for fast look-ups."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from functools import lru_cache

from gateway.mail.addresses import MailAddress, parse_envelope_address

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


@dataclass(frozen=True, slots=True)
class AddressList:
    """Domains (canonical form) and addresses (`MailAddress.key` form) under one name;
    `label_vi` names the list in Vietnamese evidence ("tên miền công vụ")."""

    name: str
    domains: frozenset[str] = frozenset()
    addresses: frozenset[str] = frozenset()
    subdomains: bool = True
    label_vi: str = ""

    def has_domain(self, domain: str) -> bool:
        """Whether `domain` is listed, or (when the list says so) is a subdomain of one listed."""
        if domain in self.domains:
            return True
        if not self.subdomains:
            return False
        labels = domain.split(".")
        return any(".".join(labels[i:]) in self.domains for i in range(1, len(labels)))

    def has(self, address: MailAddress) -> bool:
        """Whether the address itself or its domain is listed; never the null sender."""
        if address.is_null:
            return False
        return address.key in self.addresses or self.has_domain(address.domain)


@dataclass(frozen=True, slots=True)
class NetworkList:
    """Client networks under one name."""

    name: str
    networks: tuple[IPNetwork, ...] = ()
    label_vi: str = ""

    def has(self, ip: IPAddress | None) -> bool:
        if ip is None:
            return False
        if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
            ip = ip.ipv4_mapped
        return any(ip.version == net.version and ip in net for net in self.networks)


@lru_cache(maxsize=4096)
def parse_ip(text: str | None) -> IPAddress | None:
    """An IP address from text (`::ffff:` forms, `[...]` and IPv6 zone ids tolerated)."""
    if not text:
        return None
    value = text.strip().strip("[]").split("%", 1)[0]
    if value.lower().startswith("ipv6:"):
        value = value[5:]
    try:
        return ipaddress.ip_address(value)
    except ValueError:
        return None


@lru_cache(maxsize=8192)
def envelope_address(text: str) -> MailAddress | None:
    """`parse_envelope_address`, memoised: the same addresses come back at every step."""
    return parse_envelope_address(text)
