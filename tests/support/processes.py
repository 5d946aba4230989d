"""Processes seen in /proc, for tests that check what outlives what."""

from __future__ import annotations

import os
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path


def _living() -> Iterator[tuple[int, list[str]]]:
    """Each process that has not exited (zombies left out) with its /proc/PID/stat fields
    after the name: state, parent, process group, ..."""
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            fields = stat.rsplit(")", 1)[1].split()
            if fields[0] != "Z":
                yield int(entry.name), fields


def living_children(pid: int) -> list[int]:
    """The children of `pid` that have not exited (zombies left out)."""
    return [child for child, fields in _living() if int(fields[1]) == pid]


def living_in_group(group: int) -> list[int]:
    """The processes of process group `group` that have not exited (zombies left out: an
    orphan's is reaped by init, which in a container may never do it)."""
    return [member for member, fields in _living() if int(fields[2]) == group]


def stderr_until_exit(process: subprocess.Popen[bytes], seconds: float) -> str:
    """Everything `process` (started with stderr=PIPE in a session of its own) and whatever
    shares its stderr write, once all of them closed it; past `seconds`, or if the test
    fails meanwhile, the whole session is killed."""
    try:
        _, stderr = process.communicate(timeout=seconds)
    finally:
        end_session(process)
    return stderr.decode("utf-8", "replace")


def end_session(process: subprocess.Popen[bytes]) -> None:
    """Kill `process` (started in a session of its own) and every process left in it."""
    if process.poll() is None:
        process.kill()
    process.wait(10)
    for pid in living_in_group(process.pid):
        os.kill(pid, signal.SIGKILL)
