"""Peak memory of a server and every process it started, summed from /proc, per role.

A server started with `start_new_session=True` leads its own session: its worker
processes and their analysis children share that session id, so summing VmRSS (and
PSS, which splits the pages they share) over the session counts them all. Roles: the
master (the session leader), the template its SMTP workers are forked from, the SMTP
workers, the analysis zygotes, the analysis children they fork, and other helpers
(resource tracker, pdftoppm, tesseract).

    python bench/memory.py PID   # the current figures of a running server's session
"""

from __future__ import annotations

import contextlib
import sys
import threading
import time
from collections.abc import Iterable
from pathlib import Path

KB = 1024
MB = 1024 * 1024
ROLES = ("master", "template", "smtp worker", "zygote", "analysis child", "other")
#: Per role (and "total"): summed RSS, summed PSS, process count, in bytes.
Figures = dict[str, tuple[int, int, int]]


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


def _cmdline(pid: int) -> bytes:
    with contextlib.suppress(OSError):
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    return b""


def _parent(pid: int) -> int:
    with contextlib.suppress(OSError, ValueError, IndexError):
        return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
    return 0


def _name(pid: int) -> str:
    with contextlib.suppress(OSError):
        return Path(f"/proc/{pid}/comm").read_text().strip()
    return ""


def role(pid: int, leader: int) -> str:
    """What a process of `leader`'s session is (see the module's docstring); the gateway
    names its template, SMTP workers, zygotes and analysis children (tth-template,
    tth-worker, tth-zygote, tth-analysis)."""
    command, name = _cmdline(pid), _name(pid)
    if pid == leader:
        return "master"
    if name == "tth-template":
        return "template"
    if name == "tth-worker":
        return "smtp worker"
    if name == "tth-zygote":
        return "zygote"
    if name == "tth-analysis":
        return "analysis child"
    if _parent(pid) == leader and b"resource_tracker" not in command:
        return "smtp worker"
    return "other"


def _higher(figures: Figures, key: str, rss: int, pss: int, count: int) -> None:
    """Keep in `figures[key]` the higher of each figure."""
    old = figures.get(key, (0, 0, 0))
    figures[key] = (max(old[0], rss), max(old[1], pss), max(old[2], count))


def _add(figures: Figures, key: str, rss: int, pss: int) -> None:
    old = figures.get(key, (0, 0, 0))
    figures[key] = (old[0] + rss, old[1] + pss, old[2] + 1)


def session_memory(leader: int) -> Figures:
    """Summed RSS, PSS and process count of `leader`'s session, per role and "total"."""
    figures: Figures = {}
    for pid in session_members(leader):
        rss = _field_kb(Path(f"/proc/{pid}/status"), "VmRSS:")
        pss = _field_kb(Path(f"/proc/{pid}/smaps_rollup"), "Pss:")
        _add(figures, role(pid, leader), rss, pss)
        _add(figures, "total", rss, pss)
    return figures


def report_lines(figures: Figures) -> Iterable[str]:
    """One line per role present, then the total."""
    for key in (*ROLES, "total"):
        if key in figures:
            rss, pss, count = figures[key]
            yield (f"{key:<15} RSS {rss / MB:7.1f} MiB   PSS {pss / MB:7.1f} MiB   "
                   f"({count} processes)")


class PeakMemory:
    """Samples the sessions of some servers every `interval` s; the peaks per phase."""

    def __init__(self, leaders: dict[str, int], interval: float = 0.05) -> None:
        self.leaders, self.interval = leaders, interval
        self.phase = "start"
        self.peaks: dict[tuple[str, str], Figures] = {}
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._done.is_set():
            for name, leader in self.leaders.items():
                peaks = self.peaks.setdefault((name, self.phase), {})
                for role_, figures in session_memory(leader).items():
                    _higher(peaks, role_, *figures)
            time.sleep(self.interval)

    def __enter__(self) -> PeakMemory:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._done.set()
        self._thread.join()

    def peak(self, name: str) -> Figures:
        """The highest (RSS, PSS, processes) of `name` per role and in total, each over
        every phase (a role's peak and the total's need not fall in the same sample)."""
        result: Figures = {}
        for (server, _), peaks in self.peaks.items():
            if server != name:
                continue
            for key, figures in peaks.items():
                _higher(result, key, *figures)
        return result


if __name__ == "__main__":
    if len(sys.argv) != 2 or not sys.argv[1].isdigit():
        raise SystemExit("usage: python bench/memory.py PID (a server that leads its session)")
    print("\n".join(report_lines(session_memory(int(sys.argv[1])))))
