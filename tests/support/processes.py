"""Processes seen in /proc, for tests that check what outlives what."""

from __future__ import annotations

from pathlib import Path


def living_children(pid: int) -> list[int]:
    """The children of `pid` that have not exited (zombies left out)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            fields = stat.rsplit(")", 1)[1].split()
            if int(fields[1]) == pid and fields[0] != "Z":
                found.append(int(entry.name))
    return found
