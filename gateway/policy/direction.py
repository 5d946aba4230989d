"""Which way a message goes: inbound, outbound or internal."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from gateway.mail.envelope import Direction
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
