"""The main process's id in a file, for `policy apply` and `kill -HUP $(cat FILE)`."""

from __future__ import annotations

import contextlib
import os
import signal
from collections.abc import Iterator
from pathlib import Path

from gateway.mail.durable import write_durably


@contextlib.contextmanager
def pid_file(path: Path | None) -> Iterator[None]:
    """Write this process's id to `path` for the duration; nothing when `path` is None."""
    if path is None:
        yield
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    write_durably(path, [f"{os.getpid()}\n".encode()])
    try:
        yield
    finally:
        with contextlib.suppress(OSError):
            if read_pid(path) == os.getpid():
                path.unlink()


def read_pid(path: Path) -> int:
    """The id in `path`; raises OSError or ValueError when there is none."""
    return int(path.read_text("ascii").strip())


def signal_gateway(path: Path, signum: int = signal.SIGHUP) -> int:
    """Send `signum` to the gateway named by the pid file; returns its id."""
    pid = read_pid(path)
    os.kill(pid, signum)
    return pid
