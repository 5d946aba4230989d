"""Per-connection state kept by the gateway beside aiosmtpd's own."""

from __future__ import annotations

import asyncio
import secrets
import time
from dataclasses import dataclass, field

from aiosmtpd.smtp import Session

from gateway.deciding.seam import TransactionDecider
from gateway.mail.literals import without_controls, without_ipv6_tag
from gateway.outbound.upstream import UpstreamConnection

UNAVAILABLE = "[UNAVAILABLE]"


def encodable(text: str) -> bool:
    """False for arguments that arrived as bytes that are not UTF-8 (surrogate escapes)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def printable(text: str) -> str:
    """`text` with bytes that are not UTF-8 and control characters replaced, for the
    headers the gateway writes and XFORWARD."""
    return without_controls(text.encode("utf-8", "surrogateescape").decode("utf-8", "replace"))


@dataclass(slots=True)
class ClientFacts:
    """The real client: the socket peer, or what a trusted relay said (XFORWARD/PROXY)."""

    ip: str | None = None
    name: str | None = None
    helo: str | None = None
    proto: str | None = None
    forwarded: bool = False

    def apply_xforward(self, attributes: dict[str, str]) -> None:
        """What a trusted relay's XFORWARD says about the real client."""
        for key, value in attributes.items():
            known = None if value in (UNAVAILABLE, "[TEMPUNAVAIL]") else value
            if key == "ADDR" and known:
                self.ip = without_ipv6_tag(known)
            elif key == "NAME":
                self.name = known
            elif key == "HELO":
                self.helo = known
            elif key == "PROTO":
                self.proto = known
        self.forwarded = True

    def xforward(self, esmtp: bool) -> dict[str, str]:
        """The real client, for an upstream that offers XFORWARD."""
        return {
            "NAME": printable(self.name or UNAVAILABLE),
            "ADDR": printable(self.ip or UNAVAILABLE),
            "HELO": printable(self.helo or UNAVAILABLE),
            "PROTO": printable(self.proto or ("ESMTP" if esmtp else "SMTP")),
        }


@dataclass(slots=True)
class Transaction:
    """One MAIL … DATA exchange, decided under the policy it started with."""

    decider: TransactionDecider
    id: str = field(default_factory=lambda: secrets.token_hex(6).upper())
    started: float = field(default_factory=time.monotonic)
    refused: list[dict[str, object]] = field(default_factory=list)
    upstream: UpstreamConnection | None = None
    upstream_broken: bool = False


class GatewaySession(Session):
    """aiosmtpd's Session plus the real client and the open transaction."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        super().__init__(loop)
        self.id = secrets.token_hex(4).upper()
        self.client = ClientFacts()
        self.transaction: Transaction | None = None
        self.in_data = False
        #: The client connection is gone; nothing may be attached to the session any more.
        self.closed = False

    @property
    def busy(self) -> bool:
        return self.transaction is not None or self.in_data
