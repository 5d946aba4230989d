"""deploy/grafana: the dashboard is valid JSON whose every query reads metrics the gateway
exports, covering what issue 12 asks to see at a glance."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from tests.support.exported import STANDARD, exported_names, referenced_names

GRAFANA = Path(__file__).resolve().parents[3] / "deploy" / "grafana"


def dashboard() -> dict[str, Any]:
    data: dict[str, Any] = json.loads((GRAFANA / "tth-gateway.json").read_text("utf-8"))
    return data


def expressions() -> list[tuple[str, str]]:
    return [(panel["title"], target["expr"]) for panel in dashboard()["panels"]
            for target in panel["targets"]]


def test_every_query_reads_exported_metrics() -> None:
    exported = exported_names() | STANDARD
    found = expressions()
    assert len(found) >= 12
    for title, expr in found:
        names = referenced_names(expr)
        assert names, title
        assert names <= exported, (title, names - exported)


def test_the_panels_operators_asked_for() -> None:
    read = set().union(*(referenced_names(expr) for _title, expr in expressions()))
    for metric in ("tth_decisions_total", "tth_rule_hits_total", "tth_documents_total",
                   "tth_classified_messages_total", "tth_stage_seconds_bucket",
                   "tth_upstream_errors_total", "tth_quarantine_held_messages",
                   "tth_transactions_total"):
        assert metric in read, metric


def test_layout_and_provisioning() -> None:
    board = dashboard()
    assert board["uid"] == "tth-gateway"
    ids = [panel["id"] for panel in board["panels"]]
    assert len(ids) == len(set(ids))
    boxes = {(p["gridPos"]["x"], p["gridPos"]["y"]) for p in board["panels"]}
    assert len(boxes) == len(ids), "two panels at the same place"
    provider = yaml.safe_load((GRAFANA / "provisioning/dashboards/tth-gateway.yaml").read_text())
    assert provider["providers"][0]["options"]["path"] == "/var/lib/grafana/dashboards"
