"""The operators' HTTP endpoint: /metrics, /healthz (alive), /readyz (able to serve mail)."""

from __future__ import annotations

import logging
import signal
import socket
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from prometheus_client import CollectorRegistry, exposition
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector

from gateway.config import Settings
from gateway.record import metrics
from gateway.service.backlog import QuarantineBacklog
from gateway.service.readiness import readiness

log = logging.getLogger("gateway.service.httpd")


class _Handler(BaseHTTPRequestHandler):
    server: OperatorServer
    #: HEAD: the answer's status and headers only.
    _head_only = False
    #: Seconds a client may take to send its request (or stay idle): a half-sent request
    #: would otherwise hold its thread and descriptor for ever.
    timeout = 10.0

    def do_GET(self) -> None:
        path = self.path.split("?", 1)[0]
        if path == "/metrics":
            encoder, content_type = exposition.choose_encoder(self.headers.get("Accept", ""))
            self._answer(200, encoder(self.server.exported), content_type)
        elif path == "/healthz":
            self._answer(200, b"ok\n")
        elif path == "/readyz":
            checks = readiness(self.server.settings, metrics.registry())
            ready = all(check.ok for check in checks)
            lines = [f"{'ok' if check.ok else 'FAIL'} {check.name}: {check.detail}"
                     for check in checks]
            body = "\n".join([("ready" if ready else "not ready"), *lines]) + "\n"
            self._answer(200 if ready else 503, body.encode())
        else:
            self._answer(404, b"not found: try /metrics, /healthz or /readyz\n")

    def do_HEAD(self) -> None:
        """GET's status and headers without the body (HEAD-based probes)."""
        self._head_only = True
        self.do_GET()

    def _answer(self, status: int, body: bytes,
                content_type: str = "text/plain; charset=utf-8") -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if not self._head_only:
            self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("http %s " + format, self.address_string(), *args)


class OperatorServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client gone mid-answer is a DEBUG line; anything else is logged with its
        traceback (socketserver printed both to stderr, past the log's format)."""
        error = sys.exception()
        if isinstance(error, ConnectionError):
            log.debug("http client %s went away: %s", client_address, error)
            return
        log.error("http request from %s failed", client_address, exc_info=error)

    def __init__(self, host: str, port: int, settings: Settings) -> None:
        self.address_family = _family(host)
        super().__init__((host, port), _Handler)
        self.settings = settings
        self.exported = CollectorRegistry(auto_describe=False)
        self.exported.register(_Exported(QuarantineBacklog(settings.quarantine)))


class _Exported(Collector):
    """The gateway's metrics (every worker's in multiprocess mode) and the backlog."""

    def __init__(self, backlog: QuarantineBacklog) -> None:
        self._backlog = backlog

    def collect(self) -> Iterator[Metric]:
        yield from metrics.registry().collect()
        yield from self._backlog.collect()


def _family(host: str) -> socket.AddressFamily:
    return socket.AF_INET6 if ":" in host else socket.AF_INET


def start_operator_http(host: str, port: int, settings: Settings) -> OperatorServer:
    """Serve in a daemon thread; the caller may `shutdown()` and `server_close()` it."""
    server = OperatorServer(host, port, settings)
    thread = threading.Thread(target=server.serve_forever, name="operator-http", daemon=True)
    # The thread (and those it starts per request) must not take the process's signals:
    # a signal caught there would wait for the main thread to wake up by itself (the
    # master blocked in waitpid() would forward a SIGHUP only at the next child exit).
    blocked = signal.pthread_sigmask(signal.SIG_BLOCK, _SIGNALS)
    try:
        thread.start()
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, blocked)
    return server


_SIGNALS = {signal.SIGHUP, signal.SIGTERM, signal.SIGINT, signal.SIGCHLD}
