"""The quarantine as the SMTP handler uses it: hold durably (with the notices), then notify."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence

from gateway.config import Settings
from gateway.deciding.seam import MessageDecision
from gateway.mail.envelope import Envelope
from gateway.mail.spool import Spool
from gateway.outbound.upstream import Upstream
from gateway.quarantine.heldmeta import hold_request
from gateway.quarantine.interface import OutgoingNotice, Store
from gateway.quarantine.lifecycle import Housekeeping
from gateway.quarantine.notices import build_notices, outgoing
from gateway.quarantine.opening import open_store
from gateway.quarantine.outbox import NoticeOutbox
from gateway.record import metrics

log = logging.getLogger("gateway.actions.holding")


class QuarantineHolding:
    """`gateway.actions.hold.Holding` backed by a quarantine store and its notice queue."""

    def __init__(self, settings: Settings, upstream: Upstream,
                 store: Store | None = None) -> None:
        self.store = store or open_store(settings.quarantine)
        self.notices = settings.notices
        self.outbox = NoticeOutbox(self.store, upstream, settings.notices)
        self.housekeeping = Housekeeping(self.store, settings)

    def start(self) -> None:
        """Background tasks: the notice queue, recovery and purge."""
        self.outbox.start()
        self.housekeeping.start()

    async def hold(self, message: Spool, envelope: Envelope, decision: MessageDecision,
                   session_ref: str) -> str:
        """Store the message and its notices in one durable step (off the event loop);
        returns the reference id. A store failure raises: the client gets a 4xx."""
        request = hold_request(envelope, decision.verdict, decision.analysis, session_ref,
                               decision.direction)

        def notices(reference: str) -> Sequence[OutgoingNotice]:
            built = build_notices(reference, decision.analysis, decision.verdict,
                                  self.notices, envelope=envelope,
                                  officer=decision.security_officer)
            return [outgoing(notice) for notice in built]

        try:
            return await asyncio.to_thread(self.store.hold, message, request, notices=notices)
        except Exception:
            metrics.QUARANTINE_STORE_ERRORS.labels("hold").inc()
            raise

    def notify(self, reference: str, envelope: Envelope, decision: MessageDecision) -> None:
        """The notices are queued with the hold; deliver them now."""
        self.outbox.wake()

    async def drain(self, timeout: float = 10.0) -> None:
        """Stop the background tasks (bounded); undelivered notices stay queued."""
        await self.outbox.stop(timeout)
        await self.housekeeping.stop()
        await asyncio.to_thread(self.store.close)
