"""The local store's notice queue: one `<id>.notices` JSON file per hold.

A batch holds the folder's notice lock (`.notices.lock`, an flock on a file
never replaced, unlike the queue files) until it is closed: one worker of
those sharing the folder sends notices at a time, never the same notice
twice, and a worker that dies mid-send loses the lock with its life, so the
notices it did not record as sent are due again at once for the next one.
"""

from __future__ import annotations

import base64
import contextlib
import fcntl
import json
import os
from collections.abc import Iterable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from gateway.mail.durable import write_durably
from gateway.quarantine.interface import (
    NoticeCounts,
    NoticeState,
    OutgoingNotice,
    QueuedNotice,
    RecordingBatch,
)

SUFFIX = ".notices"

Entry = dict[str, Any]


def write_new(path: Path, notices: Sequence[OutgoingNotice], now: datetime) -> None:
    entries = [{
        "recipients": list(notice.recipients),
        "data": base64.b64encode(notice.data).decode(),
        "state": NoticeState.PENDING.value,
        "attempts": 0,
        "created": now.isoformat(),
        "next_attempt": now.isoformat(),
        "last_error": "",
    } for notice in notices]
    _save(path, entries)


def _save(path: Path, entries: list[Entry]) -> None:
    write_durably(path, [json.dumps({"notices": entries}, indent=1).encode() + b"\n"])


def _load(path: Path) -> list[Entry]:
    entries: list[Entry] = json.loads(path.read_bytes())["notices"]
    return entries


LOCK_NAME = ".notices.lock"


def _lock(folder: Path) -> int | None:
    """An open descriptor holding the folder's notice lock, or None when another has it."""
    descriptor = os.open(folder / LOCK_NAME, os.O_RDONLY | os.O_CREAT, 0o600)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(descriptor)
        return None
    return descriptor


class LocalNoticeBatch(RecordingBatch):
    """Due notices of the queue files `paths` (held_id → path) in `folder`; the folder's
    notice lock is held until `close` (none are claimed when another worker has it)."""

    def __init__(self, folder: Path, paths: Iterable[tuple[str, Path]], now: datetime,
                 limit: int) -> None:
        self.notices: list[QueuedNotice] = []
        self._paths: dict[str, Path] = {}
        self._lock = _lock(folder) if folder.is_dir() else None
        if self._lock is None:
            return
        try:
            for held_id, path in paths:
                if len(self.notices) >= limit:
                    break
                self._take(held_id, path, now, limit)
        except BaseException:
            self.close()
            raise

    def _take(self, held_id: str, path: Path, now: datetime, limit: int) -> None:
        with contextlib.suppress(FileNotFoundError):
            due = [
                (index, entry) for index, entry in enumerate(_load(path))
                if entry["state"] == NoticeState.PENDING
                and datetime.fromisoformat(entry["next_attempt"]) <= now
            ][: limit - len(self.notices)]
            self._paths[held_id] = path
            self.notices += [
                QueuedNotice(f"{held_id}#{index}", held_id, tuple(entry["recipients"]),
                             base64.b64decode(entry["data"]), entry["attempts"],
                             datetime.fromisoformat(entry["created"]))
                for index, entry in due
            ]

    def _record(self, notice: QueuedNotice, state: NoticeState, retry_at: datetime,
                error: str) -> None:
        path = self._paths[notice.held_id]
        entries = _load(path)
        entry = entries[int(notice.key.rpartition("#")[2])]
        entry.update(state=state.value, attempts=notice.attempts + 1,
                     next_attempt=retry_at.isoformat(), last_error=error)
        _save(path, entries)

    def close(self) -> None:
        descriptor, self._lock = self._lock, None
        if descriptor is not None:
            os.close(descriptor)


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
