"""CPU time of a server and every process it started, summed from /proc (see bench/memory.py)."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

from bench.memory import session_members

_TICKS = os.sysconf("SC_CLK_TCK")


def _times(stat: str) -> int:
    """Own and reaped children's CPU ticks (fields 14-17) of a /proc/PID/stat line."""
    fields = stat.rsplit(")", 1)[1].split()
    return sum(int(value) for value in fields[11:15])


def session_cpu(leader: int) -> float:
    """CPU seconds so far of `leader`'s session: its living processes and what they reaped."""
    ticks = 0
    for pid in session_members(leader):
        with contextlib.suppress(OSError, ValueError, IndexError):
            ticks += _times(Path(f"/proc/{pid}/stat").read_text())
    return ticks / _TICKS
