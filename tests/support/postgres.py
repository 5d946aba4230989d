"""A private PostgreSQL cluster for tests: initdb in a temporary folder, run by an
unprivileged user (CI runs as root; PostgreSQL refuses to), on a loopback port."""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg

from tests.support.sink import free_port

BIN = Path("/usr/lib/postgresql/15/bin")
USER = "tth"
DATABASE = "quarantine"
RUN_AS = "nobody"


def available() -> bool:
    return (BIN / "postgres").is_file() and (BIN / "initdb").is_file()


def _demote() -> tuple[int, int] | None:
    """The uid and gid to run PostgreSQL as: `nobody` when we are root, else ourselves."""
    if os.geteuid() != 0:
        return None
    entry = pwd.getpwnam(RUN_AS)
    return entry.pw_uid, entry.pw_gid


class Cluster:
    """One PostgreSQL server; `kill()` crashes it (SIGKILL), `start()` brings it back."""

    def __init__(self) -> None:
        self.folder = Path(tempfile.mkdtemp(prefix="tth-pg-"))
        self.data = self.folder / "data"
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None
        self._ids = _demote()
        if self._ids is not None:
            os.chown(self.folder, *self._ids)
        self.log = self.folder / "postgres.log"

    @property
    def url(self) -> str:
        return f"postgresql://{USER}@127.0.0.1:{self.port}/{DATABASE}"

    def _preexec(self) -> None:
        if self._ids is not None:
            os.setgid(self._ids[1])
            os.setuid(self._ids[0])

    def _run(self, *argv: str) -> None:
        subprocess.run(argv, check=True, capture_output=True, timeout=120,
                       preexec_fn=self._preexec, cwd=self.folder)

    def initialise(self) -> None:
        self._run(str(BIN / "initdb"), "-D", str(self.data), "-U", USER, "--auth=trust",
                  "-E", "UTF8", "--no-sync", "--locale=C")
        self.start()
        with psycopg.connect(f"postgresql://{USER}@127.0.0.1:{self.port}/postgres",
                             autocommit=True) as connection:
            connection.execute(f"CREATE DATABASE {DATABASE}")

    def start(self, timeout: float = 60.0) -> None:
        log = open(self.log, "ab")  # noqa: SIM115 - the server's own stderr, closed below
        try:
            self.process = subprocess.Popen(
                [str(BIN / "postgres"), "-D", str(self.data), "-p", str(self.port),
                 "-c", "listen_addresses=127.0.0.1", "-c", f"unix_socket_directories={self.folder}",
                 "-c", "fsync=on", "-c", "max_connections=50"],
                stdout=log, stderr=log, preexec_fn=self._preexec,
                start_new_session=True,
            )
        finally:
            log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"postgres exited: {self.log.read_text()[-2000:]}")
            with contextlib.suppress(psycopg.OperationalError):
                psycopg.connect(f"postgresql://{USER}@127.0.0.1:{self.port}/postgres",
                                connect_timeout=2).close()
                return
            time.sleep(0.1)
        raise RuntimeError(f"postgres did not start: {self.log.read_text()[-2000:]}")

    def kill(self) -> None:
        """Crash the server: SIGKILL to the postmaster and every backend (its process group)."""
        if self.process is not None and self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(30)
        self.process = None

    def stop(self) -> None:
        """A fast clean shutdown (SIGINT), else a kill."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.kill()
        self.process = None

    def remove(self) -> None:
        self.stop()
        shutil.rmtree(self.folder, ignore_errors=True)


@contextlib.contextmanager
def private_cluster() -> Iterator[Cluster]:
    """A fresh cluster, always stopped and removed, whatever the test did."""
    cluster = Cluster()
    try:
        cluster.initialise()
        yield cluster
    finally:
        cluster.kill()
        cluster.remove()
