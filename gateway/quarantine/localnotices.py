"""The local store's notice queue: one `<id>.notices` JSON file per hold, under flock.

A claim leases due entries (a time before which no other worker takes them)
and writes the lease durably, so two workers sharing the folder never send the
same notice at once; a worker that dies mid-send leaves a lease that expires.
"""

from __future__ import annotations

import base64
import fcntl
import json
import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from gateway.actions.durable import write_durably
from gateway.quarantine.interface import NoticeCounts, NoticeState, OutgoingNotice, QueuedNotice

SUFFIX = ".notices"

Entry = dict[str, Any]


def _stamp(moment: datetime) -> str:
    return moment.isoformat()


def write_new(path: Path, notices: Sequence[OutgoingNotice], now: datetime) -> None:
    entries = [{
        "recipients": list(notice.recipients),
        "data": base64.b64encode(notice.data).decode(),
        "state": NoticeState.PENDING.value,
        "attempts": 0,
        "created": _stamp(now),
        "next_attempt": _stamp(now),
        "lease_until": _stamp(now),
        "last_error": "",
    } for notice in notices]
    _save(path, entries)


def _save(path: Path, entries: list[Entry]) -> None:
    write_durably(path, [json.dumps({"notices": entries}, indent=1).encode() + b"\n"])


def _load(path: Path) -> list[Entry]:
    entries: list[Entry] = json.loads(path.read_bytes())["notices"]
    return entries


@contextmanager
def _locked(path: Path, wait: bool) -> Iterator[bool]:
    """Flock on the queue file; yields False when `wait` is off and someone else has it."""
    descriptor = os.open(path, os.O_RDONLY)
    try:
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        except BlockingIOError:
            yield False
            return
        yield True
    finally:
        os.close(descriptor)


def claim(path: Path, held_id: str, now: datetime, lease: float,
          limit: int) -> list[QueuedNotice]:
    """Lease up to `limit` due entries of one hold's queue (none when it is busy)."""
    try:
        with _locked(path, wait=False) as ours:
            if not ours:
                return []
            entries = _load(path)
            claimed: list[QueuedNotice] = []
            for index, entry in enumerate(entries):
                due = max(datetime.fromisoformat(entry["next_attempt"]),
                          datetime.fromisoformat(entry["lease_until"])) <= now
                if entry["state"] != NoticeState.PENDING or not due or len(claimed) >= limit:
                    continue
                entry["lease_until"] = _stamp(now + timedelta(seconds=lease))
                claimed.append(QueuedNotice(
                    f"{held_id}#{index}", held_id, tuple(entry["recipients"]),
                    base64.b64decode(entry["data"]), entry["attempts"],
                    datetime.fromisoformat(entry["created"]),
                ))
            if claimed:
                _save(path, entries)
            return claimed
    except FileNotFoundError:
        return []


def finish(path: Path, notice: QueuedNotice, now: datetime, retry_at: datetime | None,
           error: str, *, expire: bool = False) -> None:
    """Record one attempt: sent (`retry_at` None), failed to retry at `retry_at`, or expired."""
    index = int(notice.key.rpartition("#")[2])
    with _locked(path, wait=True):
        entries = _load(path)
        entry = entries[index]
        entry["attempts"] = notice.attempts + 1
        entry["lease_until"] = _stamp(now)
        entry["last_error"] = error
        if retry_at is None:
            entry["state"] = NoticeState.SENT.value
        elif expire:
            entry["state"] = NoticeState.EXPIRED.value
        else:
            entry["next_attempt"] = _stamp(retry_at)
        _save(path, entries)


def count(paths: Sequence[Path]) -> NoticeCounts:
    pending = expired = 0
    for path in paths:
        try:
            states = [entry["state"] for entry in _load(path)]
        except FileNotFoundError:
            continue
        pending += states.count(NoticeState.PENDING.value)
        expired += states.count(NoticeState.EXPIRED.value)
    return NoticeCounts(pending, expired)
