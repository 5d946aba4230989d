"""The master of `serve --workers N`, in a process of its own.

`serve` validates the settings with the whole command line loaded, then execs
`python -m gateway.service.master FD` (same pid, so the pid file and systemd
see one process), FD a memfd holding the pickled settings. The master imports
only what it needs to supervise and serve /metrics; the workers it spawns import
the SMTP server, the policies and the analysis, and the master never does.
"""

from __future__ import annotations

import logging
import os
import pickle
import shutil
import sys
import tempfile
from pathlib import Path
from typing import NoReturn

from gateway.config import Settings, parse_hostport
from gateway.record.logs import configure_logging
from gateway.service.pidfile import pid_file
from gateway.service.supervise import MasterLink, Supervisor

log = logging.getLogger("gateway.service.master")


def exec_master(settings: Settings) -> NoReturn:
    """Replace this process with the lean master, handing it `settings`."""
    fd = os.memfd_create("tth-settings", 0)  # inherited across exec
    os.write(fd, pickle.dumps(settings, protocol=pickle.HIGHEST_PROTOCOL))
    os.lseek(fd, 0, os.SEEK_SET)
    sys.stdout.flush()
    sys.stderr.flush()
    os.execv(sys.executable, [sys.executable, "-m", "gateway.service.master", str(fd)])


def _worker(settings: Settings, link: MasterLink) -> None:
    """A worker's entry point: its imports happen here, in the worker."""
    from gateway.service.serve import worker_main

    worker_main(settings, link)


def start_metrics(settings: Settings) -> None:
    """Publish the build and serve /metrics, /healthz, /readyz when configured."""
    from gateway.record.identity import publish_build_info
    from gateway.service.httpd import start_operator_http

    publish_build_info()
    if settings.metrics.listen:
        host, port = parse_hostport(settings.metrics.listen)
        try:
            start_operator_http(host, port, settings)
        except OSError as exc:  # in use, not this host's address, a name that does not resolve
            raise OSError(exc.errno, f"cannot listen on {settings.metrics.listen} "
                                     f"(metrics.listen): {exc.strerror or exc}") from exc
        log.warning("metrics on http://%s:%d/metrics (also /healthz, /readyz)", host, port)


def serve_workers(settings: Settings) -> int:
    """N processes bound to the same ports with SO_REUSEPORT, kept alive by this one, which
    serves /metrics. The workers' temporary files (and the metrics folder, unless one is
    given) live in a folder this process removes at the end, even after a worker was killed."""
    workers = settings.server.workers
    run = Path(tempfile.mkdtemp(prefix="tth-run-"))
    (run / "tmp").mkdir()
    os.environ["TMPDIR"] = str(run / "tmp")
    directory = os.environ.setdefault("PROMETHEUS_MULTIPROC_DIR", str(run))
    for stale in Path(directory).glob("*.db"):
        stale.unlink()

    def announce() -> None:
        log.warning(
            "tth-gateway: %d workers listening on %s, relaying to %s",
            workers,
            ", ".join(settings.server.listen),
            settings.upstream.address,
        )

    try:
        supervisor = Supervisor(workers, _worker, settings, announce, "gateway.service.template")
        start_metrics(settings)
        return supervisor.run()
    finally:
        shutil.rmtree(run, ignore_errors=True)


def main() -> int:
    """The exec'd master: read the settings, take the pid file, supervise."""
    with os.fdopen(int(sys.argv[1]), "rb") as source:
        settings: Settings = pickle.load(source)
    try:
        configure_logging(settings.logging)  # a syslog host that does not resolve: exit 2
        with pid_file(settings.server.pid_file):
            return serve_workers(settings)
    except OSError as exc:
        print(f"tth-gateway: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
