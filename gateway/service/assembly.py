"""The decision side of a running gateway: policies, trust store, analysis workers, quarantine.

Built from the deployment settings; the policies and the trust store reload
on SIGHUP, and when their files change if `analysis.watch` is on.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import pickle
import shutil
import tempfile
from datetime import UTC, datetime
from pathlib import Path

from gateway.actions.holding import QuarantineHolding
from gateway.analysis.pool import AnalysisPool
from gateway.auth.setup import authenticator_from_settings
from gateway.config import Settings
from gateway.deciding.decider import PolicyDecider, Unanalysed
from gateway.mail.durable import write_durably
from gateway.outbound.upstream import Upstream
from gateway.policy.loader import Policy, PolicyError, load_policy
from gateway.record import metrics
from gateway.reload import Loaded, LoadError, Reloadable
from gateway.signatures.setup import LoadedTrust, trust_sources
from gateway.signatures.trust import TrustLoadError, TrustMaterial

log = logging.getLogger("gateway.service.assembly")


def policy_reloadable(settings: Settings) -> Reloadable[Policy]:
    """The policy folder as a reloadable value; the first load failing is fatal."""
    directory = settings.policies

    def load() -> Policy:
        try:
            return load_policy(directory)
        except PolicyError as exc:
            raise LoadError(exc.errors) from exc

    return Reloadable(
        "policy", load, lambda: [directory],
        on_loaded=_policy_loaded, on_error=_policy_refused,
    )


def _policy_loaded(loaded: Loaded[Policy]) -> None:
    metrics.POLICY_RELOADS.inc()
    metrics.POLICY_GENERATION.set(loaded.generation)
    metrics.POLICY_LOADED_AT.set(loaded.loaded_at)


def _policy_refused(errors: list[str]) -> None:
    metrics.POLICY_RELOAD_ERRORS.inc()


def trust_reloadable(settings: Settings, snapshots: Path) -> Reloadable[LoadedTrust]:
    """The trust store's files; each good load is kept as a snapshot in `snapshots`, so
    that a later broken edit cannot reach a worker that starts afterwards."""
    sources = trust_sources(settings)

    def load() -> LoadedTrust:
        try:
            material = TrustMaterial.load(sources)
        except TrustLoadError as exc:
            raise LoadError([str(exc)]) from exc
        _expiry_metrics(material)
        snapshot = snapshots / f"trust-{material.generation}.pickle"
        write_durably(snapshot, [pickle.dumps(material, protocol=pickle.HIGHEST_PROTOCOL)])
        _prune(snapshots, keep=snapshot)
        return LoadedTrust(sources, material.generation, snapshot)

    return Reloadable(
        "trust store", load,
        lambda: [sources.anchors, sources.intermediates, sources.crls],
        on_loaded=lambda loaded: metrics.TRUST_GENERATION.set(loaded.generation),
        on_error=lambda errors: metrics.TRUST_RELOAD_ERRORS.inc(),
    )


def _prune(snapshots: Path, keep: Path) -> None:
    """Remove old snapshots; the newest before `keep` stays for transactions in flight."""
    older = sorted((path for path in snapshots.glob("trust-*.pickle") if path != keep),
                   key=lambda path: path.stat().st_mtime)
    for path in older[:-1]:
        path.unlink(missing_ok=True)


def _expiry_metrics(material: TrustMaterial) -> None:
    metrics.TRUST_EXPIRY.clear()
    for item in material.expiries():
        metrics.TRUST_EXPIRY.labels(item.kind, item.name).set(item.moment.timestamp())
        if item.moment < datetime.now(UTC):
            log.error("trust store: %s %s expired at %s", item.kind, item.name, item.moment)


class Decisions:
    """Everything the handler needs to decide and hold messages, and its reloading."""

    def __init__(self, settings: Settings, upstream: Upstream) -> None:
        self.settings = settings
        authenticator = authenticator_from_settings(settings)  # a bad DKIM key stops here
        self.policies = policy_reloadable(settings)
        self._snapshots = Path(tempfile.mkdtemp(prefix="tth-trust-"))
        try:
            self.trust = (
                trust_reloadable(settings, self._snapshots) if settings.trust.anchors else None
            )
        except LoadError:
            shutil.rmtree(self._snapshots, ignore_errors=True)
            raise
        analysis = settings.analysis
        self.pool = AnalysisPool(settings.analysis_per_worker(), analysis.time_limit,
                                 max_queue=analysis.max_queue,
                                 memory_limit_mb=analysis.memory_limit_mb)
        self.decider = PolicyDecider(
            self.policies, self.trust, self.pool,
            Unanalysed(analysis.remember_entries, analysis.remember_seconds), authenticator,
        )
        self.holding = QuarantineHolding(settings, upstream)
        self._watchers: list[asyncio.Task[None]] = []
        self._reloads: set[asyncio.Task[None]] = set()

    async def start(self) -> None:
        interval = self.settings.analysis.watch_interval
        if self.settings.analysis.watch:
            self._watchers = [asyncio.create_task(self.policies.watch(interval))]
            if self.trust is not None:
                self._watchers.append(asyncio.create_task(self.trust.watch(interval)))
        self.holding.start()
        await self.pool.warm_up()

    def reload(self) -> None:
        """Reload policies and trust store now (blocking)."""
        self.policies.reload()
        if self.trust is not None:
            self.trust.reload()

    def request_reload(self) -> None:
        """SIGHUP, on the event loop: reload in a thread, so no session waits for it."""
        task = asyncio.get_running_loop().create_task(asyncio.to_thread(self.reload))
        self._reloads.add(task)
        task.add_done_callback(self._reloads.discard)

    async def stop(self) -> None:
        for task in self._watchers:
            task.cancel()
        for task in self._watchers:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self.holding.drain()
        await self.pool.close()
        shutil.rmtree(self._snapshots, ignore_errors=True)
