"""Address literals (RFC 5321 4.1.3): `[192.0.2.1]`, `[IPv6:2001:db8::1]`."""

from __future__ import annotations

import ipaddress


def is_address_literal(text: str) -> bool:
    """Whether `text` is a bracketed IPv4 address, or `IPv6:` and an IPv6 address."""
    if not (text.startswith("[") and text.endswith("]")):
        return False
    inner = text[1:-1]
    try:
        if inner[:5].upper() == "IPV6:":
            ipaddress.IPv6Address(inner[5:])
        else:
            ipaddress.IPv4Address(inner)
    except ValueError:
        return False
    return True
