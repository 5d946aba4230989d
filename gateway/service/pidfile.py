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


#: No process id is above this (Linux's PID_MAX_LIMIT).
PID_LIMIT = 4_194_304


def read_pid(path: Path) -> int:
    """The process id in `path`; raises OSError or ValueError when there is none. Only a
    positive id is one: `kill` takes 0 for the caller's process group and -1 for every
    process it may signal."""
    text = path.read_text("ascii", "replace").strip()
    if not text.isascii() or not text.isdigit() or not 0 < int(text) <= PID_LIMIT:
        raise ValueError(f"{text[:40]!r} is not a process id")
    return int(text)


def signal_gateway(path: Path, signum: int = signal.SIGHUP) -> int:
    """Send `signum` to the gateway named by the pid file; returns its id. A stale file whose
    id now names another program is refused (ValueError), not signalled."""
    pid = read_pid(path)
    command = Path(f"/proc/{pid}/cmdline")
    with contextlib.suppress(FileNotFoundError):  # no such process: kill says so below
        if b"gateway" not in command.read_bytes():
            raise ValueError(f"process {pid} is not a tth-gateway (a stale pid file?)")
    os.kill(pid, signum)
    return pid
