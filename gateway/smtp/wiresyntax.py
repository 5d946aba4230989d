"""The syntax of what a client writes on the wire: addresses, networks, xtext."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Sequence

from gateway.mail.literals import has_control, is_address_literal, without_ipv6_tag

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
#: An address and the rest of its command (its parameters), or (None, None) when malformed.
Parsed = tuple[str | None, str | None]
XFORWARD_ATTRIBUTES = ("NAME", "ADDR", "PORT", "PROTO", "HELO", "IDENT", "SOURCE")
_XTEXT_HEX = re.compile(rb"\+([0-9A-Fa-f]{2})")
_BAD_IN_ADDRESS = re.compile(r"[\x00-\x20\x7f]")
_ATOM = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_PLAIN_ADDRESS = re.compile(
    rf"\s*<(?P<local>{_ATOM}(?:\.{_ATOM})*)@(?P<domain>[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?)>"
    r"(?=\s|$)"
)
_QUOTED = re.compile(r'"(?:[^"\\\x00-\x1f\x7f]|\\.)*"')
#: What XFORWARD may say instead of a value (Postfix's XFORWARD_README).
XFORWARD_UNKNOWN = ("[UNAVAILABLE]", "[TEMPUNAVAIL]")


def in_networks(address: str | None, networks: Sequence[Network]) -> bool:
    if not address:
        return False
    try:
        ip = ipaddress.ip_address(address.split("%")[0])
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    return any(ip in network for network in networks)


def valid_domain_literal(domain: str) -> bool:
    """A `[...]` domain must hold an IPv4 address or `IPv6:` and an IPv6 one (RFC 5321 4.1.3)."""
    return not domain.startswith("[") or is_address_literal(domain)


def xforward_value_ok(name: str, value: str) -> bool:
    """A known XFORWARD attribute with a value the gateway may write into a header: no
    control characters, and an ADDR that is an IP address (`IPV6:` before an IPv6 one)."""
    if name not in XFORWARD_ATTRIBUTES or has_control(value):
        return False
    if name != "ADDR" or value in XFORWARD_UNKNOWN:
        return True
    try:
        ipaddress.ip_address(without_ipv6_tag(value))
    except ValueError:
        return False
    return True


class BadAttribute(str):
    """The name of the XFORWARD attribute that was refused."""


def xforward_attributes(arg: str) -> dict[str, str] | BadAttribute:
    """XFORWARD's `NAME=value` items, xtext-decoded, by upper-case name; the first that is
    unknown, has no `=`, or has a value `xforward_value_ok` refuses, as a BadAttribute."""
    attributes: dict[str, str] = {}
    for item in arg.split():
        name, sep, value = item.partition("=")
        decoded = xtext_decode(value)
        if not sep or not xforward_value_ok(name.upper(), decoded):
            return BadAttribute(name)
        attributes[name.upper()] = decoded
    return attributes


def xtext_decode(value: str) -> str:
    """RFC 3461 xtext (`+2B` for '+'), as XFORWARD values are sent."""
    raw = value.encode("utf-8", "surrogateescape")
    decoded = _XTEXT_HEX.sub(lambda match: bytes([int(match[1], 16)]), raw)
    return decoded.decode("utf-8", "replace")


def plain_address(arg: str, local_limit: int) -> tuple[str | None, str | None] | None:
    """The common `<dot-atom@domain>` form, read without the email header parser (a tenth of
    the CPU of a 5 KB relay): (address, rest), (None, None) if the local part is too long,
    or None when the argument takes another form."""
    plain = _PLAIN_ADDRESS.match(arg)
    if plain is None:
        return None
    if local_limit and len(plain["local"]) > local_limit:
        return None, None
    return f"{plain['local']}@{plain['domain']}", arg[plain.end() :].lstrip()


def well_formed(address: str, arg: str, rest: str | None) -> bool:
    """What aiosmtpd's parser lets through but a mail server must not: a bad domain literal,
    a space or control outside quotes, an unclosed `<address`."""
    if not valid_domain_literal(address.rpartition("@")[2]):
        return False
    consumed = arg[: len(arg) - len(rest or "")].strip()
    if _BAD_IN_ADDRESS.search(_QUOTED.sub("", consumed)):
        return False
    return not (consumed.startswith("<") and not consumed.endswith(">"))


def parse_path(arg: str, local_limit: int, parser: Callable[[str], Parsed]) -> Parsed:
    """aiosmtpd's `parser`, but an unclosed `<address` or a space or control is malformed.

    The plain `<dot-atom@domain>` form is read without the email header parser.
    """
    plain = plain_address(arg, local_limit)
    if plain is not None:
        return plain
    try:
        address, rest = parser(arg)
    except (IndexError, AttributeError, TypeError, ValueError):
        # email's header parser raises more than HeaderParseError on cut-off input
        # (`u@`, `"a"@`, `<a@[>`): that is a malformed address, not a local failure.
        return None, None
    if address is None or not well_formed(address, arg, rest):
        return None, None
    return address, rest
