"""The quarantine as the SMTP handler uses it: hold durably, then notify in the background."""

from __future__ import annotations

import asyncio
import logging

from gateway.actions.heldmeta import hold_request
from gateway.actions.notices import build_notices, send_notices
from gateway.actions.quarantine import QuarantineStore
from gateway.analysis.model import Envelope
from gateway.config import Settings
from gateway.pipeline import MessageDecision
from gateway.smtp.spool import Spool
from gateway.smtp.upstream import Upstream

log = logging.getLogger("gateway.actions.holding")


class QuarantineHolding:
    """`gateway.pipeline.Holding` backed by a `QuarantineStore` and the upstream for notices."""

    def __init__(self, settings: Settings, upstream: Upstream,
                 store: QuarantineStore | None = None) -> None:
        self.store = store or QuarantineStore.from_settings(settings.quarantine)
        self.upstream = upstream
        self.notices = settings.notices
        self._pending: set[asyncio.Task[None]] = set()

    async def hold(self, message: Spool, envelope: Envelope, decision: MessageDecision,
                   session_ref: str) -> str:
        """Store the message (fsynced, off the event loop); returns the reference id."""
        request = hold_request(envelope, decision.verdict, decision.analysis, session_ref)
        return await asyncio.to_thread(self.store.hold, message, request)

    def notify(self, reference: str, envelope: Envelope, decision: MessageDecision) -> None:
        """Send the notices in the background, after the client has its reply."""
        task = asyncio.get_running_loop().create_task(
            self._send(reference, envelope, decision)
        )
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    async def _send(self, reference: str, envelope: Envelope,
                    decision: MessageDecision) -> None:
        """A failure is logged and counted; the message stays held."""
        try:
            notices = build_notices(reference, decision.analysis, decision.verdict,
                                    self.notices, envelope=envelope)
            report = await send_notices(self.upstream, notices)
        except Exception:
            log.exception("notices for held message %s failed", reference)
            return
        if report.failed:
            log.warning("held message %s: %d notice(s) sent, %d failed",
                        reference, report.sent, report.failed)

    async def drain(self, timeout: float = 10.0) -> None:
        """Wait (bounded) for notices still being sent, e.g. before closing the upstream."""
        if self._pending:
            _, late = await asyncio.wait(set(self._pending), timeout=timeout)
            if late:
                log.warning("%d notice task(s) still running at shutdown", len(late))
