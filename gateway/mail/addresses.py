"""Mail addresses and domains in one canonical form, parsed with the standard library.

Canonical domain form (used everywhere a domain is compared or stored): the
IDNA 2008 / UTS #46 *Unicode* form (U-labels), lowercase, NFC, without a
trailing dot. `Bücher.DE`, `xn--bcher-kva.de` and `bücher.de.` are all
`bücher.de`. A domain that IDNA refuses (underscores, broken punycode) keeps
its casefolded NFC text and is flagged `valid_domain=False`; address literals
such as `[192.0.2.1]` are kept as written.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from email.headerregistry import Address as StdAddress
from email.headerregistry import AddressHeader
from functools import lru_cache

import idna
from publicsuffixlist import PublicSuffixList

from gateway.mail.headers import HEADER_FACTORY

_PSL = PublicSuffixList()
_ANGLE_MAILBOX = re.compile(r'\s*([^<>",;]*?)\s*<([^<>]+)>\s*')
_BARE_MAILBOX = re.compile(r'\s*()([^\s<>",;@]+@[^\s<>",;@]+)\s*')


@dataclass(frozen=True, slots=True)
class MailAddress:
    """One mailbox: the local part as the sender wrote it and the canonical domain.

    The null sender `<>` has an empty local part and domain (`is_null`).
    """

    local: str
    domain: str
    valid_domain: bool = True

    @property
    def is_null(self) -> bool:
        return not self.local and not self.domain

    @property
    def base_local(self) -> str:
        """The local part without a `+tag` subaddress."""
        return self.local.split("+", 1)[0] if not self.local.startswith("+") else self.local

    @property
    def key(self) -> str:
        """A comparison key: local part casefolded without `+tag`, canonical domain."""
        return f"{self.base_local.casefold()}@{self.domain}" if not self.is_null else ""

    def __str__(self) -> str:
        if self.is_null:
            return ""
        return f"{quote_local(self.local)}@{self.domain}"


def quote_local(local: str) -> str:
    """The local part as it must be written in an addr-spec (quoted when needed)."""
    return StdAddress(username=local, domain="x").addr_spec.rsplit("@", 1)[0]


@lru_cache(maxsize=4096)
def canonical_domain(domain: str) -> tuple[str, bool]:
    """The canonical form of `domain` and whether IDNA accepted it."""
    text = unicodedata.normalize("NFC", domain.strip()).rstrip(".")
    if text.startswith("[") and text.endswith("]"):
        return text.lower(), True
    if not text:
        return "", False
    try:
        return idna.decode(text, uts46=True), True
    except (idna.IDNAError, UnicodeError, ValueError):
        return text.casefold(), False


def normalize_domain(domain: str) -> str:
    """The canonical form of `domain` (see the module docstring)."""
    return canonical_domain(domain)[0]


@lru_cache(maxsize=4096)
def registrable_domain(domain: str) -> str:
    """The registrable part (`a.b.thuathienhue.gov.vn` → `thuathienhue.gov.vn`).

    A domain that is itself a public suffix, or unknown to the list, is its own
    registrable part.
    """
    return _PSL.privatesuffix(domain) or domain


@lru_cache(maxsize=4096)
def public_suffix(domain: str) -> str:
    """The public suffix of a canonical domain (`gov.vn` for `hue.gov.vn`)."""
    return _PSL.publicsuffix(domain) or domain.rsplit(".", 1)[-1]


def in_domain(domain: str, parent: str, *, subdomains: bool = True) -> bool:
    """Whether canonical `domain` is `parent` or (when allowed) one of its subdomains."""
    return domain == parent or (subdomains and domain.endswith("." + parent))


def from_std(address: StdAddress) -> MailAddress | None:
    """A `MailAddress` from a parsed `email.headerregistry.Address`; None when it has no domain."""
    if not address.username and not address.domain:
        return MailAddress("", "")
    if not address.domain or not address.username:
        return None
    domain, valid = canonical_domain(address.domain)
    return MailAddress(unicodedata.normalize("NFC", address.username), domain, valid)


def parse_address_list(text: str) -> tuple[tuple[StdAddress, ...], tuple[str, ...]]:
    """Parse an address-list header value; returns the addresses and the parser's defects."""
    header = HEADER_FACTORY("to", text)
    assert isinstance(header, AddressHeader)
    defects: tuple[object, ...] = getattr(header, "defects", ())
    return header.addresses, tuple(str(defect) for defect in defects)


@dataclass(frozen=True, slots=True)
class FieldReading:
    """An address field read as mail clients show it: its mailboxes; `malformed` when the
    parser refuses it and it is no lone mailbox (the parser's mailboxes are kept);
    `repaired` (as written, as read) when a lone mailbox the parser refuses was read as
    clients read it."""

    addresses: tuple[StdAddress, ...]
    malformed: bool = False
    repaired: tuple[str, str] | None = None


def read_address_field(text: str) -> FieldReading:
    """The mailboxes of an address field (unfolded) as a mail client shows them.

    A lone `<addr-spec>` after an unquoted phrase that the parser refuses
    (`eve@x <manager@x>`) is the address clients show and reply to: the phrase is
    read as its display name, quoted; an address with stray dots is read as readers
    take it (`without_stray_dots`). Everything that reads a From (the analysis, the
    DMARC check, the DKIM signer) reads it here, so all of them bind to one mailbox.
    """
    parsed, defects = parse_address_list(text)
    if not any("invalid" in defect.lower() for defect in defects):
        return FieldReading(parsed)
    lone = _ANGLE_MAILBOX.fullmatch(text) or _BARE_MAILBOX.fullmatch(text)
    if lone is None:
        return FieldReading(parsed, malformed=True)
    phrase, addr_spec = lone.group(1) or "", lone.group(2)
    tidy = without_stray_dots(addr_spec)
    quoted = phrase.replace("\\", "\\\\").replace('"', '\\"')
    mailbox = f'"{quoted}" <{tidy}>' if quoted else f"<{tidy}>"
    return FieldReading(parse_address_list(mailbox)[0], repaired=(addr_spec, tidy))


def without_stray_dots(addr_spec: str) -> str:
    """`a@hue.gov.vn.` and `a@hue..gov.vn` as readers take them (and DNS, for the first):
    `a@hue.gov.vn`. The email package refuses both, which left the address unread and
    the official-domain rules blind to it."""
    local, at, domain = addr_spec.rpartition("@")
    if not at:
        return addr_spec
    return f"{local}@{'.'.join(label for label in domain.split('.') if label)}"


def parse_envelope_address(text: str) -> MailAddress | None:
    """Parse a MAIL FROM / RCPT TO path (`<a@b>`, `a@b` or `<>`); None when unparsable. A
    domain with stray dots is read without them (`without_stray_dots`)."""
    value = text.strip()
    if value in ("", "<>"):
        return MailAddress("", "")
    parsed = _envelope_address(value)
    if parsed is None:
        path = value.strip("<>")
        tidy = without_stray_dots(path)
        if tidy != path:
            return _envelope_address(tidy)
    return parsed


def _envelope_address(value: str) -> MailAddress | None:
    if not value.startswith("<"):
        value = f"<{value}>"
    try:
        addresses, defects = parse_address_list(value)
    except (ValueError, IndexError, TypeError, AttributeError):
        return None
    serious = [d for d in defects if "non-ASCII" not in d]
    if len(addresses) != 1 or serious:
        return None
    parsed = from_std(addresses[0])
    return None if parsed is None or parsed.is_null else parsed

