"""The metric names a running gateway exports, as PromQL sees them (with the suffixes of
counters and histograms), for checking dashboards and alert rules against them."""

from __future__ import annotations

import re

from prometheus_client import REGISTRY

from gateway.record import metrics
from gateway.service import backlog

#: Names Prometheus adds itself or that every exporter has.
STANDARD = frozenset({"up"})
_NAME = re.compile(r"\b(tth_[a-z0-9_]+|up)\b")


def exported_names() -> frozenset[str]:
    assert metrics.CONNECTIONS is not None  # the module registered its metrics
    names: set[str] = {backlog.HELD, backlog.OLDEST}
    for family in REGISTRY.collect():
        if not family.name.startswith("tth_"):
            continue
        names.add(family.name)
        names.update(_suffixes(family.type, family.name))
    return frozenset(names)


def _suffixes(kind: str, name: str) -> set[str]:
    if kind == "counter":
        return {f"{name}_total"}
    if kind == "histogram":
        return {f"{name}_bucket", f"{name}_count", f"{name}_sum"}
    return set()


def referenced_names(expression: str) -> set[str]:
    """The metric names a PromQL expression reads (ours all start with tth_)."""
    return set(_NAME.findall(expression))
