"""Live reload of what administrators edit (policies, trust store): atomic, last good kept.

A `Reloadable` holds the current value built from some files. `reload()`
builds a new value; if that fails, the old one stays in force and the errors
are logged with their file and line and counted. Readers take `current` once
per transaction, so a transaction in flight finishes under the value it
started with. `watch()` polls the files' fingerprint and reloads on change;
SIGHUP calls `reload()` directly.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Generic, TypeVar

log = logging.getLogger("gateway.reload")

Value = TypeVar("Value")


class LoadError(Exception):
    """A load refused, with every error as `file:line:column: message` where known."""

    def __init__(self, errors: list[str]) -> None:
        super().__init__("\n".join(errors))
        self.errors = errors


@dataclass(frozen=True, slots=True)
class Loaded(Generic[Value]):
    value: Value
    generation: int
    loaded_at: float
    fingerprint: str


def fingerprint(paths: Iterable[Path | None]) -> str:
    """Names, sizes and modification times of the files under `paths`."""
    digest = hashlib.sha256()
    for root in paths:
        if root is None:
            continue
        files = sorted(root.rglob("*")) if root.is_dir() else [root]
        for path in files:
            try:
                stat = path.stat()
            except OSError:
                digest.update(f"{path}:missing".encode())
                continue
            if path.is_file():
                digest.update(f"{path}:{stat.st_size}:{stat.st_mtime_ns}".encode())
    return digest.hexdigest()


class Reloadable(Generic[Value]):
    """The current value of `load()`; `on_loaded` runs after every successful load."""

    def __init__(
        self,
        name: str,
        load: Callable[[], Value],
        paths: Callable[[], list[Path | None]],
        on_loaded: Callable[[Loaded[Value]], None] = lambda loaded: None,
        on_error: Callable[[list[str]], None] = lambda errors: None,
    ) -> None:
        self.name = name
        self._load = load
        self._paths = paths
        self._on_loaded = on_loaded
        self._on_error = on_error
        self._lock = threading.Lock()
        self._loaded = self._build(generation=1)
        on_loaded(self._loaded)

    @property
    def current(self) -> Value:
        return self._loaded.value

    @property
    def loaded(self) -> Loaded[Value]:
        return self._loaded

    def _build(self, generation: int) -> Loaded[Value]:
        stamp = fingerprint(self._paths())
        return Loaded(self._load(), generation, time.time(), stamp)

    def reload(self) -> list[str]:
        """Load again; on error keep the last good value and return the errors.

        Safe to call from several threads (SIGHUP and the file watch): one load at a time.
        """
        with self._lock:
            return self._reload()

    def _reload(self) -> list[str]:
        try:
            loaded = self._build(self._loaded.generation + 1)
        except LoadError as exc:
            errors = exc.errors
        except Exception as exc:
            log.exception("%s reload failed", self.name)
            errors = [f"{type(exc).__name__}: {exc}"]
        else:
            self._loaded = loaded
            log.warning("%s reloaded (generation %d)", self.name, loaded.generation)
            self._on_loaded(loaded)
            return []
        for error in errors:
            log.error("%s reload refused, keeping generation %d: %s",
                      self.name, self._loaded.generation, error)
        self._on_error(errors)
        return errors

    def changed(self) -> bool:
        return fingerprint(self._paths()) != self._loaded.fingerprint

    async def watch(self, interval: float) -> None:
        """Reload whenever the files change; a refused edit is reported once per change."""
        refused: str | None = None
        while True:
            await asyncio.sleep(interval)
            if not self.changed():
                continue
            stamp = fingerprint(self._paths())
            if stamp == refused:
                continue
            refused = stamp if await asyncio.to_thread(self.reload) else None
