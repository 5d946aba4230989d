"""A DNS zone for sender authentication tests: DKIM keys, SPF and DMARC records of an
official domain, of foreign domains with each DMARC policy, and of a forwarder (ARC)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from gateway.auth.keygen import generate
from gateway.auth.signing import DkimSigner, SigningKey, public_record
from tests.support.dnsserver import DnsServer

#: Where the official domain's mail servers and the partners' servers send from.
OFFICIAL_OUTBOUND_IP = "192.0.2.25"
PARTNER_IP = "198.51.100.25"
STRANGER_IP = "203.0.113.66"

DMARC = {
    "thuathienhue.gov.vn": "v=DMARC1; p=reject; sp=reject; adkim=r; aspf=r",
    "bank.example": "v=DMARC1; p=reject",
    "shop.example": "v=DMARC1; p=quarantine",
    "news.example": "v=DMARC1; p=none",
    "sampled.example": "v=DMARC1; p=reject; pct=0",
    "parent.example": "v=DMARC1; p=none; sp=reject",
    "strict.example": "v=DMARC1; p=reject; adkim=s; aspf=s",
    "twice.example": "v=DMARC1; p=reject",
    "badpolicy.example": "v=DMARC1; p=maybe",
}


@dataclass
class AuthZone:
    """The zone, the keys that sign for each domain, and the signer of each."""

    server: DnsServer
    keys: dict[str, SigningKey]

    def signer(self, *names: str) -> DkimSigner:
        return DkimSigner([self.keys[name] for name in names])


def build_zone(folder: Path) -> AuthZone:
    keys = {
        "official": generate("thuathienhue.gov.vn", "s2026", "rsa", folder),
        "official-ed": generate("thuathienhue.gov.vn", "e2026", "ed25519", folder),
        "bank": generate("bank.example", "k1", "rsa", folder),
        "forwarder": generate("lists.example", "arc", "rsa", folder),
        "strict": generate("strict.example", "k1", "rsa", folder),
    }
    server = DnsServer()
    for key in keys.values():
        name, _, value = public_record(key).partition(". IN TXT ")
        server.add(name, "TXT", value)
    for domain, record in DMARC.items():
        server.txt(f"_dmarc.{domain}", record)
    server.txt("_dmarc.twice.example", "v=DMARC1; p=none")
    spf = {
        "thuathienhue.gov.vn": f"v=spf1 ip4:{OFFICIAL_OUTBOUND_IP} -all",
        "sotttt.thuathienhue.gov.vn": "v=spf1 include:thuathienhue.gov.vn -all",
        "bank.example": f"v=spf1 ip4:{PARTNER_IP} -all",
        "shop.example": f"v=spf1 ip4:{PARTNER_IP} -all",
        "news.example": f"v=spf1 ip4:{PARTNER_IP} -all",
        "sampled.example": f"v=spf1 ip4:{PARTNER_IP} -all",
        "mail.parent.example": f"v=spf1 ip4:{PARTNER_IP} -all",
        "strict.example": f"v=spf1 ip4:{PARTNER_IP} -all",
        "bounce.strict.example": f"v=spf1 ip4:{PARTNER_IP} -all",
        "twice.example": f"v=spf1 ip4:{PARTNER_IP} -all",
        "badpolicy.example": f"v=spf1 ip4:{PARTNER_IP} -all",
    }
    for domain, record in spf.items():
        server.txt(domain, record)
    server.behaviour.update({"_dmarc.down.example": "servfail", "down.example": "servfail"})
    return AuthZone(server, keys)
