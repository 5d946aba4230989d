"""Running the gateway: assemble the parts, serve, drain on SIGTERM, fork workers."""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import os
import signal
import socket
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from gateway.actions.upstreams import upstream_for
from gateway.assembly import Decisions
from gateway.audit import AuditLog
from gateway.config import Settings, parse_hostport
from gateway.pidfile import pid_file
from gateway.pipeline import Decider, Holding
from gateway.record.logs import configure_logging
from gateway.sdnotify import notify
from gateway.smtp.handler import RelayHandler
from gateway.smtp.listener import start_listeners
from gateway.smtp.server import ConnectionLimiter
from gateway.smtp.upstream import Upstream

log = logging.getLogger("gateway.service")


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
        if protocol.transport is not None:
            protocol.transport.close()
    if limiter.relays:
        await asyncio.wait(list(limiter.relays), timeout=max(0.1, deadline - time.monotonic()))
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
            settings.server, self.hostname, self.upstream, decider, self.audit, holding,
            route_upstream=self.route_upstream,
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
        """Reopen the audit log (logrotate) and reload policies and trust store."""
        self.audit.reopen()
        if self.decisions is not None:
            self.decisions.request_reload()

    def addresses(self) -> list[tuple[str, int]]:
        return [sock.getsockname()[:2] for server in self.servers for sock in server.sockets]

    async def stop(self) -> None:
        """Stop accepting, let transactions in flight finish (bounded), release everything."""
        for server in self.servers:
            server.close()
        await _drain(self.limiter, self.settings.server.shutdown_grace)
        if self.decisions is not None:
            await self.decisions.stop()
        await self.upstream.close()
        self.audit.close()


async def run_worker(settings: Settings, *, reuse_port: bool, announce: bool) -> None:
    """Serve every listen address until SIGTERM or SIGINT, then drain."""
    gateway = Gateway(settings)
    await gateway.start(reuse_port=reuse_port)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    loop.add_signal_handler(signal.SIGHUP, gateway.on_sighup)
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


def _worker_main(settings: Settings) -> None:
    configure_logging(settings.logging)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _run(lambda: run_worker(settings, reuse_port=True, announce=False))


def _start_metrics(settings: Settings) -> None:
    from gateway.record.httpd import start_operator_http
    from gateway.record.identity import publish_build_info

    publish_build_info()
    if settings.metrics.listen:
        host, port = parse_hostport(settings.metrics.listen)
        start_operator_http(host, port, settings)
        log.warning("metrics on http://%s:%d/metrics (also /healthz, /readyz)", host, port)


def serve(settings: Settings) -> int:
    """Serve until stopped; exit status 0 after a clean drain."""
    configure_logging(settings.logging)
    with pid_file(settings.server.pid_file):
        workers = settings.server.workers
        if workers == 1:
            _start_metrics(settings)
            _run(lambda: run_worker(settings, reuse_port=False, announce=True))
            return 0
        return _serve_workers(settings, workers)


def _serve_workers(settings: Settings, workers: int) -> int:
    """N processes bound to the same ports with SO_REUSEPORT; this one serves /metrics."""
    directory = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if not directory:
        directory = tempfile.mkdtemp(prefix="tth-metrics-")
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = directory
    for stale in Path(directory).glob("*.db"):
        stale.unlink()
    context = multiprocessing.get_context("spawn")
    children = [context.Process(target=_worker_main, args=(settings,)) for _ in range(workers)]
    for child in children:
        child.start()
    _start_metrics(settings)
    log.warning(
        "tth-gateway: %d workers listening on %s, relaying to %s",
        workers,
        ", ".join(settings.server.listen),
        settings.upstream.address,
    )

    def forward(signum: int, _frame: object) -> None:
        for child in children:
            if child.pid is not None and child.is_alive():
                os.kill(child.pid, signum)

    for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(signum, forward)
    for child in children:
        child.join()
    failed = [child.exitcode for child in children if child.exitcode not in (0, -signal.SIGTERM)]
    return 1 if failed else 0
