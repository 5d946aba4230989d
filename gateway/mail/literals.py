"""What a client writes that the gateway may write back: address literals (RFC 5321
4.1.3: `[192.0.2.1]`, `[IPv6:2001:db8::1]`) and control characters."""

from __future__ import annotations

import ipaddress
import re

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def has_control(text: str) -> bool:
    """Whether `text` holds a control character (C0, DEL or C1: CR, LF, NUL, ESC ...)."""
    return _CONTROL.search(text) is not None


def without_controls(text: str) -> str:
    """`text` with each control character shown as "?"."""
    return _CONTROL.sub("?", text)


def without_ipv6_tag(address: str) -> str:
    """`address` without the `IPv6:` tag (any case) an address literal or XFORWARD puts
    before an IPv6 address."""
    return address[5:] if address[:5].upper() == "IPV6:" else address


def is_address_literal(text: str) -> bool:
    """Whether `text` is a bracketed IPv4 address, or `IPv6:` and an IPv6 address."""
    if not (text.startswith("[") and text.endswith("]")):
        return False
    inner = text[1:-1]
    bare = without_ipv6_tag(inner)
    family = ipaddress.IPv6Address if len(bare) < len(inner) else ipaddress.IPv4Address
    try:
        family(bare)
    except ValueError:
        return False
    return True
