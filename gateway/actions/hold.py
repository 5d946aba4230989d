"""Holding: a `quarantine` verdict keeps the message; 250 only once the copy is fsynced."""

from __future__ import annotations

import logging
from typing import Protocol

from gateway.deciding.seam import Decided, Disposed, MessageDecision
from gateway.mail.envelope import Envelope
from gateway.mail.replies import DECIDER_FAILED, Reply, held_reply, reply
from gateway.mail.spool import Spool
from gateway.outbound.upstream import reset

log = logging.getLogger("gateway.actions.hold")


class Holding(Protocol):
    """Where quarantined messages go, and who is told about them."""

    async def hold(self, message: Spool, envelope: Envelope, decision: MessageDecision,
                   session_ref: str) -> str:
        """Store the message durably (fsynced) and return its reference id."""
        ...

    def notify(self, reference: str, envelope: Envelope, decision: MessageDecision) -> None:
        """Start telling the sender and the security officer, in the background."""
        ...


class Hold:
    """`quarantine`: the held reply names the reference; then the notices go out."""

    def __init__(self, holding: Holding | None) -> None:
        self.holding = holding

    async def dispose(self, message: Decided) -> Disposed:
        return Disposed(await self._hold(message), await reset(message.upstream))

    async def _hold(self, message: Decided) -> Reply:
        record, envelope, decision = message.record, message.envelope, message.decision
        if self.holding is None:
            log.error("%s quarantine asked but no quarantine store; tempfail", record.session)
            record.outcome = "tempfailed"
            return reply(*DECIDER_FAILED, reason="no quarantine store")
        try:
            reference = await self.holding.hold(message.spool, envelope, decision,
                                                record.session)
        except Exception:
            log.exception("%s cannot store the message in quarantine; tempfail", record.session)
            record.outcome = "tempfailed"
            return reply(451, "4.3.0", "Cannot hold the message now, try again later",
                         reason="quarantine store failed")
        record.outcome = "quarantined"
        record.reference = reference
        self.holding.notify(reference, envelope, decision)
        hit = decision.verdict.deciding_rule
        return held_reply(reference, hit.name if hit else None, utf8=envelope.smtputf8)
