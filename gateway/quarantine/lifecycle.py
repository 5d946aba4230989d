"""Housekeeping in the serving process: recover half-written holds, purge by retention."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import UTC, datetime

from gateway.config import Settings
from gateway.quarantine.auditing import audit_event
from gateway.quarantine.errors import HeldBusy
from gateway.quarantine.interface import Store
from gateway.quarantine.opening import retention_seconds
from gateway.quarantine.records import purge_action
from gateway.record import metrics

log = logging.getLogger("gateway.quarantine.lifecycle")


def purge(store: Store, settings: Settings, now: datetime | None = None) -> list[str]:
    """Apply the retention once: bodies destroyed, old records forgotten; audited."""
    moment = now or datetime.now(UTC)
    retention = retention_seconds(settings.quarantine)
    done: list[str] = []
    for metadata in store.find():
        action = purge_action(metadata, moment, retention)
        if action is None:
            continue
        with contextlib.suppress(HeldBusy), store.locked(metadata.id) as handle:
            if action == "forget":
                handle.forget()
            else:
                handle.delete("retention", moment, reason="retention period over")
            audit_event(settings.audit.path, "purge", metadata.id, "retention",
                        action=action, status=metadata.status.value)
            done.append(metadata.id)
    return done


class Housekeeping:
    """Recovery at start, then purge every `quarantine.purge_interval` seconds."""

    def __init__(self, store: Store, settings: Settings) -> None:
        self.store = store
        self.settings = settings
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run())

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _run(self) -> None:
        while True:
            try:
                cleaned = await asyncio.to_thread(self.store.recover)
                if cleaned:
                    log.warning("quarantine: removed %d half-written hold(s)", cleaned)
                purged = await asyncio.to_thread(purge, self.store, self.settings)
                if purged:
                    log.info("quarantine: retention purged %d record(s)", len(purged))
            except Exception:
                metrics.QUARANTINE_STORE_ERRORS.labels("housekeeping").inc()
                log.exception("quarantine housekeeping failed; next try later")
            await asyncio.sleep(self.settings.quarantine.purge_interval)
