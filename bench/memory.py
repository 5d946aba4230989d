"""Peak memory of a server and every process it started, summed from /proc.

A server started with `start_new_session=True` leads its own session: its worker
processes and their analysis children share that session id, so summing VmRSS (and
PSS, which splits the pages they share) over the session counts them all.
"""

from __future__ import annotations

import contextlib
import threading
import time
from pathlib import Path

KB = 1024


def _session_of(stat: str) -> int:
    """The session id (field 6) of a /proc/PID/stat line; the name may hold spaces."""
    return int(stat.rsplit(")", 1)[1].split()[3])


def session_members(leader: int) -> list[int]:
    """The processes in `leader`'s session, `leader` included."""
    members = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError, ValueError, IndexError):
            if _session_of((entry / "stat").read_text()) == leader:
                members.append(int(entry.name))
    return members


def _field_kb(path: Path, name: str) -> int:
    with contextlib.suppress(OSError):
        for line in path.read_text().splitlines():
            if line.startswith(name):
                return int(line.split()[1]) * KB
    return 0


def session_memory(leader: int) -> tuple[int, int, int]:
    """(summed RSS, summed PSS, process count) of `leader`'s session, in bytes."""
    members = session_members(leader)
    rss = sum(_field_kb(Path(f"/proc/{pid}/status"), "VmRSS:") for pid in members)
    pss = sum(_field_kb(Path(f"/proc/{pid}/smaps_rollup"), "Pss:") for pid in members)
    return rss, pss, len(members)


class PeakMemory:
    """Samples the sessions of some servers every `interval` s; the peaks per phase."""

    def __init__(self, leaders: dict[str, int], interval: float = 0.05) -> None:
        self.leaders, self.interval = leaders, interval
        self.phase = "start"
        self.peaks: dict[tuple[str, str], tuple[int, int, int]] = {}
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._done.is_set():
            for name, leader in self.leaders.items():
                key = (name, self.phase)
                rss, pss, count = session_memory(leader)
                old = self.peaks.get(key, (0, 0, 0))
                self.peaks[key] = (max(old[0], rss), max(old[1], pss), max(old[2], count))
            time.sleep(self.interval)

    def __enter__(self) -> PeakMemory:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._done.set()
        self._thread.join()

    def peak(self, name: str) -> tuple[int, int, int]:
        """The highest (RSS, PSS, processes) of `name` over every phase."""
        values = [value for (server, _), value in self.peaks.items() if server == name]
        if not values:
            return 0, 0, 0
        rss, pss, count = zip(*values, strict=True)
        return max(rss), max(pss), max(count)
