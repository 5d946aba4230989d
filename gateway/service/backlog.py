"""The quarantine backlog as metrics, read from the store when Prometheus scrapes."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from datetime import datetime

from prometheus_client.metrics_core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from gateway.config import QuarantineSettings
from gateway.quarantine.errors import QuarantineError
from gateway.quarantine.heldmeta import HoldStatus
from gateway.quarantine.interface import Search, Store
from gateway.quarantine.opening import open_store

log = logging.getLogger("gateway.service.backlog")

HELD = "tth_quarantine_held_messages"
OLDEST = "tth_quarantine_oldest_held_timestamp_seconds"


class QuarantineBacklog(Collector):
    """`tth_quarantine_held_messages` and the oldest held message's arrival; the store
    (the configured one: local folder or the shared PostgreSQL) is opened at the first
    scrape and read at most once per `cache_seconds`."""

    def __init__(self, settings: QuarantineSettings, cache_seconds: float = 5.0) -> None:
        self._settings = settings
        self._store: Store | None = None
        self._cache_seconds = cache_seconds
        self._read_at = float("-inf")
        self._values: tuple[int, float | None] = (0, None)

    def _read(self) -> tuple[int, float | None]:
        if time.monotonic() - self._read_at < self._cache_seconds:
            return self._values
        if self._store is None:
            self._store = open_store(self._settings)
        held = self._store.find(Search(status=HoldStatus.HELD))
        oldest = min((datetime.fromisoformat(item.received).timestamp() for item in held),
                     default=None)
        self._values, self._read_at = (len(held), oldest), time.monotonic()
        return self._values

    def collect(self) -> Iterator[Metric]:
        try:
            count, oldest = self._read()
        except (OSError, QuarantineError):
            log.exception("cannot read the quarantine for its backlog metrics")
            return
        yield GaugeMetricFamily(HELD,
                                "Messages held in quarantine now (not released or deleted)",
                                value=count)
        if oldest is not None:
            yield GaugeMetricFamily(OLDEST,
                                    "Arrival time of the oldest message still held",
                                    value=oldest)
