"""Which way a message goes: inbound, outbound or internal."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from gateway.mail.envelope import Direction, Envelope
from gateway.policy.lists import envelope_address, parse_ip

if TYPE_CHECKING:
    from gateway.policy.loader import Policy


def direction(policy: Policy, client_ip: str | None, *, rcpt_tos: Iterable[str] = ()) -> Direction:
    """The direction from the client network and the recipients.

    A client outside the internal networks (or of unknown address) sends
    inbound. From inside, the message is internal when every recipient is in
    the local domains, outbound otherwise (and before any recipient is known).
    The envelope sender plays no part: it is whatever the client claims, and
    the rules on forged official senders judge it.
    """
    if not policy.internal_networks.has(parse_ip(client_ip)):
        return Direction.INBOUND
    recipients = [envelope_address(text) for text in rcpt_tos]
    local = policy.local_domains
    if recipients and all(r is not None and not r.is_null and local.has(r) for r in recipients):
        return Direction.INTERNAL
    return Direction.OUTBOUND


@dataclass(frozen=True, slots=True)
class Transaction:
    """What the policy judges a message with besides its analysis: the envelope and the
    direction the policy computed from it (`transaction_of`). The analysis knows neither."""

    envelope: Envelope
    direction: Direction


def transaction_of(policy: Policy, envelope: Envelope) -> Transaction:
    """The transaction of `envelope`: its direction from the client network and every
    recipient."""
    return Transaction(envelope, direction(policy, envelope.client_ip,
                                           rcpt_tos=envelope.rcpt_tos))
