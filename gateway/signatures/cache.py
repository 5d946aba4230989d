"""A bounded, expiring cache of verdicts keyed by input digest and trust generation."""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Generic, TypeVar

Value = TypeVar("Value")


class VerdictCache(Generic[Value]):
    """LRU of at most `max_entries`; entries older than `ttl_seconds` are recomputed.

    The TTL bounds how long a verdict computed "now" is reused while CRLs and
    certificates age.
    """

    def __init__(
        self,
        max_entries: int = 1024,
        ttl_seconds: float = 3600.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if max_entries < 1:
            raise ValueError("max_entries must be at least 1")
        self._entries: OrderedDict[tuple[str, ...], tuple[float, Value]] = OrderedDict()
        self._max = max_entries
        self._ttl = ttl_seconds
        self._clock = clock
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, key: tuple[str, ...]) -> Value | None:
        with self._lock:
            entry = self._entries.get(key)
            if entry is None or self._clock() - entry[0] > self._ttl:
                self._entries.pop(key, None)
                self.misses += 1
                return None
            self._entries.move_to_end(key)
            self.hits += 1
            return entry[1]

    def put(self, key: tuple[str, ...], value: Value) -> None:
        with self._lock:
            self._entries[key] = (self._clock(), value)
            self._entries.move_to_end(key)
            while len(self._entries) > self._max:
                self._entries.popitem(last=False)

    def get_or_compute(self, key: tuple[str, ...], compute: Callable[[], Value]) -> Value:
        """The cached value, or `compute()` stored under `key`."""
        cached = self.get(key)
        if cached is not None:
            return cached
        value = compute()
        self.put(key, value)
        return value
