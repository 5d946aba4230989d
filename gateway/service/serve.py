"""Running the gateway: assemble the parts, serve, drain on SIGTERM; a worker's main."""

from __future__ import annotations

import asyncio
import logging
import signal
import socket
import sys
import time
from collections.abc import Callable

from gateway.actions.hold import Holding
from gateway.actions.stage import ActionChains
from gateway.analysis.zygote import fork_zygote
from gateway.config import Settings
from gateway.deciding.seam import Decider
from gateway.outbound.upstream import Upstream
from gateway.outbound.upstreams import upstream_for
from gateway.policy.loader import PolicyError
from gateway.processes import name_process
from gateway.record.audit import AuditLog
from gateway.record.logs import configure_logging
from gateway.reload import LoadError
from gateway.service.assembly import Decisions
from gateway.service.master import exec_master, start_metrics
from gateway.service.pidfile import pid_file
from gateway.service.sdnotify import notify
from gateway.service.supervise import REFUSED_TO_START, MasterLink
from gateway.smtp.handler import RelayHandler
from gateway.smtp.limiter import ConnectionLimiter
from gateway.smtp.listener import start_listeners

log = logging.getLogger("gateway.service.serve")


def _run(coro_factory: Callable[[], object]) -> None:
    try:
        import uvloop
    except ImportError:
        asyncio.run(coro_factory())  # type: ignore[arg-type]
    else:
        uvloop.run(coro_factory())  # type: ignore[arg-type]


async def _drain(limiter: ConnectionLimiter, grace: float) -> None:
    """Let transactions in flight finish, up to `grace` seconds; then close the rest."""
    for protocol in list(limiter.open):
        protocol.shutdown()
    deadline = time.monotonic() + grace
    while limiter.open and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    for protocol in list(limiter.open):
        protocol.say_goodbye()
    if limiter.relays:
        await asyncio.wait(list(limiter.relays), timeout=max(0.1, deadline - time.monotonic()))
    # A finished relay's session writes the upstream's reply, then its goodbye.
    end = time.monotonic() + 1.0
    while limiter.open and time.monotonic() < end:
        await asyncio.sleep(0.02)
    for protocol in list(limiter.open):
        if protocol.transport is not None:
            protocol.transport.close()
    await asyncio.sleep(0)


class Gateway:
    """One worker's running gateway: listeners, handler, upstream pool, audit log."""

    def __init__(self, settings: Settings, decider: Decider | None = None) -> None:
        self.settings = settings
        self.hostname = settings.server.hostname or socket.getfqdn()
        self.upstream = upstream_for(settings.upstream, self.hostname)
        self.audit = AuditLog(settings.audit.path)
        self.decisions: Decisions | None = None
        holding: Holding | None = None
        if decider is None:
            self.decisions = Decisions(settings, self.upstream)
            decider, holding = self.decisions.decider, self.decisions.holding
        self.handler = RelayHandler(
            settings.server, self.hostname, self.upstream, decider,
            ActionChains(holding, route_upstream=self.route_upstream), self.audit,
        )
        self.limiter = ConnectionLimiter(
            settings.server.max_connections, settings.server.max_connections_per_ip
        )
        self.servers: list[asyncio.Server] = []

    def route_upstream(self, address: str) -> Upstream:
        """An unpooled upstream for a redirect route (same timeouts and TLS settings)."""
        return upstream_for(self.settings.upstream.with_address(address, pool_size=0),
                            self.hostname)

    async def start(self, *, reuse_port: bool = False) -> None:
        if self.decisions is not None:
            await self.decisions.start()
        self.servers = await start_listeners(
            self.settings.server, self.handler, self.limiter, reuse_port=reuse_port
        )

    def on_sighup(self) -> None:
        """Reload policies and trust store, and reopen the audit log (logrotate); an audit
        log that cannot be reopened keeps the old one and is said, the reload goes on."""
        if self.decisions is not None:
            self.decisions.request_reload()
        try:
            self.audit.reopen()
        except OSError as exc:
            log.error("cannot reopen the audit log %s: %s; writing on to the open one",
                      self.settings.audit.path, exc.strerror or exc)

    def addresses(self) -> list[tuple[str, int]]:
        return [sock.getsockname()[:2] for server in self.servers for sock in server.sockets]

    async def stop(self) -> None:
        """Stop accepting, let transactions in flight finish (bounded), release everything."""
        for server in self.servers:
            server.close()
        await _drain(self.limiter, self.settings.server.shutdown_grace)
        if self.handler.cleanups:
            await asyncio.wait(list(self.handler.cleanups), timeout=5)
        if self.decisions is not None:
            await self.decisions.stop()
        await self.upstream.close()
        self.audit.close()


async def run_worker(settings: Settings, *, reuse_port: bool, announce: bool,
                     master: MasterLink | None = None) -> None:
    """Serve every listen address until SIGTERM or SIGINT (or the master's death), then drain."""
    gateway = Gateway(settings)
    await gateway.start(reuse_port=reuse_port)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    loop.add_signal_handler(signal.SIGHUP, gateway.on_sighup)  # before the master may send it
    if master is not None:
        master.watch(loop, stop.set)
        master.ready()
        if master.replacement:
            from gateway.record import metrics

            metrics.WORKER_RESTARTS.inc()
    if announce:
        log.warning(
            "tth-gateway listening on %s, relaying to %s",
            ", ".join(settings.server.listen),
            settings.upstream.address,
        )
    notify("READY=1")  # several workers: the first ready one tells systemd (NotifyAccess=all)
    await stop.wait()
    notify("STOPPING=1")
    log.warning("stopping: no new connections, finishing transactions in flight")
    await gateway.stop()


def worker_main(settings: Settings, master: MasterLink) -> None:
    """One worker of `serve --workers N`, started by the master (gateway.service.master)."""
    master.bind()
    name_process("tth-worker")
    configure_logging(settings.logging)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    fork_zygote([master.channel])  # single-threaded still
    try:
        _run(lambda: run_worker(settings, reuse_port=True, announce=False, master=master))
    except (PolicyError, LoadError) as exc:
        _refuse_to_start(exc.errors)
    except OSError as exc:
        _refuse_to_start([f"tth-gateway: {exc}"])


def _refuse_to_start(errors: list[str]) -> None:
    """Say what must be fixed, as `serve` with one worker does, and exit with its status."""
    for line in errors:
        print(line, file=sys.stderr)
    sys.exit(REFUSED_TO_START)


def serve(settings: Settings) -> int:
    """Serve until stopped; exit status 0 after a clean drain. Several workers: this
    process becomes their master (gateway.service.master), and this never returns."""
    if settings.server.workers > 1:
        exec_master(settings)
    configure_logging(settings.logging)
    with pid_file(settings.server.pid_file):
        fork_zygote([])  # before the metrics thread starts
        start_metrics(settings)
        _run(lambda: run_worker(settings, reuse_port=False, announce=True))
        return 0
