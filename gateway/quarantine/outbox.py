"""Delivering the durable notice queue: a background task of the serving process.

Each round claims due notices from the store (locked: no other worker or
gateway sends them meanwhile; a crash releases the lock), sends each
straight to the upstream with the null sender, and records the outcome:
sent, retry later (exponential backoff from `notices.retry_initial` to
`notices.retry_max`), or expired once `notices.expire_after` has passed
since the hold. A notice survives restarts:
it is in the store from the hold's own atomic write until it is sent.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import UTC, datetime, timedelta

from gateway.config import NoticeSettings
from gateway.outbound.delivery import deliver_via
from gateway.outbound.upstream import Upstream, UpstreamError
from gateway.quarantine.interface import NoticeBatch, QueuedNotice, Store
from gateway.record import metrics

log = logging.getLogger("gateway.quarantine.outbox")

BATCH = 5


def retry_time(notice: QueuedNotice, now: datetime, settings: NoticeSettings) -> datetime | None:
    """When to try again after a failure, or None once the notice has expired."""
    delay = min(settings.retry_initial * 2 ** notice.attempts, settings.retry_max)
    retry_at = now + timedelta(seconds=delay)
    if (retry_at - notice.created).total_seconds() > settings.expire_after:
        return None
    return retry_at


async def send_notice(upstream: Upstream, notice: QueuedNotice) -> str:
    """Send one notice; returns "" when the upstream took it, else why not."""
    utf8 = not all(address.isascii() for address in notice.recipients)
    try:
        result = await deliver_via(upstream, "", notice.recipients, notice.data, utf8=utf8)
    except UpstreamError as exc:
        return f"upstream unavailable: {exc}"
    except Exception as exc:
        log.exception("notice %s failed", notice.key)
        return f"error: {exc}"
    return "" if result.delivered else f"refused: {result.reply.render()}"


class NoticeOutbox:
    """Sends what the store's notice queue holds, until delivered or expired."""

    def __init__(self, store: Store, upstream: Upstream, settings: NoticeSettings) -> None:
        self.store = store
        self.upstream = upstream
        self.settings = settings
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run())

    def wake(self) -> None:
        """A hold just queued notices: deliver now rather than at the next poll."""
        self._wake.set()

    async def stop(self, timeout: float = 10.0) -> None:
        """Let the round in progress finish (bounded), then stop; the queue stays durable."""
        task, self._task = self._task, None
        if task is None:
            return
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError, TimeoutError):
            await asyncio.wait_for(task, timeout)

    async def _run(self) -> None:
        while True:
            self._wake.clear()
            try:
                await self.deliver_due()
            except Exception:
                metrics.QUARANTINE_STORE_ERRORS.labels("notices").inc()
                log.exception("notice queue round failed; next try in %.0fs",
                              self.settings.poll_interval)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.settings.poll_interval)

    async def deliver_due(self) -> int:
        """Claim what is due, send it, record it, until nothing is due; returns how many
        were sent. Notices not recorded (a crash, a stop) stay due."""
        sent = 0
        while True:
            batch = await self._claim()
            try:
                if not batch.notices:
                    break
                sent += await self._deliver(batch)
            finally:
                await asyncio.to_thread(batch.close)
        await self._count()
        return sent

    async def _claim(self) -> NoticeBatch:
        """Claim a batch in a thread; stopped meanwhile, the batch is still closed (its locks
        released) once the thread returns it."""
        claim = asyncio.ensure_future(
            asyncio.to_thread(self.store.claim_notices, datetime.now(UTC), BATCH)
        )
        try:
            return await asyncio.shield(claim)
        except asyncio.CancelledError:
            with contextlib.suppress(Exception):
                (await claim).close()
            raise

    async def _deliver(self, batch: NoticeBatch) -> int:
        sent = 0
        for notice in batch.notices:
            error = await send_notice(self.upstream, notice)
            moment = datetime.now(UTC)
            if not error:
                await asyncio.to_thread(batch.sent, notice, moment)
                metrics.NOTICES.labels("sent").inc()
                sent += 1
                continue
            retry_at = retry_time(notice, moment, self.settings)
            await asyncio.to_thread(batch.failed, notice, moment, retry_at, error)
            outcome = "retry" if retry_at is not None else "expired"
            metrics.NOTICES.labels(outcome).inc()
            log.warning("notice %s for held message %s not delivered (%s): %s",
                        notice.key, notice.held_id, outcome, error)
        return sent

    async def _count(self) -> None:
        counts = await asyncio.to_thread(self.store.notice_counts)
        metrics.NOTICES_PENDING.set(counts.pending)
        metrics.NOTICES_EXPIRED.set(counts.expired)
