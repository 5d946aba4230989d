"""The SMTP envelope and the direction of a message: values every stage shares."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Direction(StrEnum):
    INBOUND = "inbound"
    OUTBOUND = "outbound"
    INTERNAL = "internal"


@dataclass(frozen=True, slots=True)
class Envelope:
    """The SMTP envelope and the client as the gateway saw them."""

    mail_from: str
    rcpt_tos: tuple[str, ...]
    client_ip: str | None = None
    client_name: str | None = None
    helo: str | None = None
    smtputf8: bool = False
