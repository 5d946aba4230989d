"""A bounded, expiring cache of verdicts keyed by input digest and trust generation."""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

Value = TypeVar("Value")
Key = tuple[Hashable, ...]


def _one(_: object) -> int:
    return 1


def _always(_: object) -> bool:
    return True


class VerdictCache(Generic[Value]):
    """LRU of at most `max_entries` (and, given `weigh`, at most `max_weight` in all);
    entries older than `ttl_seconds` are recomputed.

    The TTL bounds how long a verdict computed "now" is reused while CRLs and
    certificates age. A value heavier than `max_weight` on its own is not kept.
    """

    def __init__(
        self,
        max_entries: int = 1024,
        ttl_seconds: float = 3600.0,
        clock: Callable[[], float] = time.monotonic,
        *,
        weigh: Callable[[Value], int] = _one,
        max_weight: int | None = None,
    ) -> None:
        if max_entries < 1:
            raise ValueError("max_entries must be at least 1")
        self._entries: OrderedDict[Key, tuple[float, Value, int]] = OrderedDict()
        self._max = max_entries
        self._ttl = ttl_seconds
        self._clock = clock
        self._weigh = weigh
        self._max_weight = max_weight
        self._weight = 0
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def __len__(self) -> int:
        return len(self._entries)

    @property
    def weight(self) -> int:
        """The summed weight of the values held."""
        return self._weight

    def get(self, key: Key, fresh: Callable[[Value], bool] = _always) -> Value | None:
        """The value under `key`, unless absent, past the TTL or not `fresh` any more."""
        with self._lock:
            entry = self._entries.get(key)
            if entry is None or self._clock() - entry[0] > self._ttl or not fresh(entry[1]):
                self._drop(key)
                self.misses += 1
                return None
            self._entries.move_to_end(key)
            self.hits += 1
            return entry[1]

    def put(self, key: Key, value: Value) -> None:
        weight = self._weigh(value)
        with self._lock:
            self._drop(key)
            if self._max_weight is not None and weight > self._max_weight:
                return
            self._entries[key] = (self._clock(), value, weight)
            self._weight += weight
            while len(self._entries) > self._max or (
                self._max_weight is not None and self._weight > self._max_weight
            ):
                self._weight -= self._entries.popitem(last=False)[1][2]

    def clear(self) -> None:
        """Forget every value (the hit and miss counts stay)."""
        with self._lock:
            self._entries.clear()
            self._weight = 0

    def _drop(self, key: Key) -> None:
        entry = self._entries.pop(key, None)
        if entry is not None:
            self._weight -= entry[2]
