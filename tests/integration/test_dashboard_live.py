"""A real Prometheus scrapes a real `tth-gateway serve`; every dashboard query and alert
expression runs without error against what was scraped, and the traffic panels show
the messages sent."""

from __future__ import annotations

import json
import shutil
import smtplib
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import yaml

from tests.support.served import MESSAGE, serving
from tests.support.sink import Sink, free_port
from tests.support.tools import tool

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"


@contextmanager
def prometheus(tmp: Path, target: int) -> Iterator[int]:
    """Prometheus on a free loopback port scraping 127.0.0.1:`target` every second."""
    port = free_port()
    config = tmp / "prometheus.yml"
    config.write_text(yaml.safe_dump({
        "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
        "scrape_configs": [{"job_name": "tth-gateway",
                            "static_configs": [{"targets": [f"127.0.0.1:{target}"]}]}],
    }))
    process = subprocess.Popen(
        [tool("prometheus"), f"--config.file={config}", f"--storage.tsdb.path={tmp / 'data'}",
         f"--web.listen-address=127.0.0.1:{port}"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        _wait_ready(port, process)
        yield port
    finally:
        process.terminate()
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)
        shutil.rmtree(tmp / "data", ignore_errors=True)


def _wait_ready(port: int, process: subprocess.Popen[bytes], seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and process.poll() is None:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/-/ready", timeout=5):
                return
        except OSError:
            time.sleep(0.2)
    raise AssertionError("prometheus did not become ready")


def query(port: int, expr: str) -> dict[str, Any]:
    url = f"http://127.0.0.1:{port}/api/v1/query?" + urllib.parse.urlencode({"query": expr})
    try:
        with urllib.request.urlopen(url, timeout=10) as reply:
            answer: dict[str, Any] = json.loads(reply.read())
    except urllib.error.HTTPError as error:
        answer = json.loads(error.read())
    return answer


def grafana_queries() -> list[tuple[str, str]]:
    board = json.loads((DEPLOY / "grafana" / "tth-gateway.json").read_text("utf-8"))
    return [(panel["title"], target["expr"].replace("$__rate_interval", "30s")
             .replace('instance=~"$instance"', 'instance=~".*"'))
            for panel in board["panels"] for target in panel["targets"]]


def alert_expressions() -> list[tuple[str, str]]:
    rules = yaml.safe_load((DEPLOY / "prometheus" / "alerts.yml").read_text())
    return [(rule["alert"], rule["expr"]) for rule in rules["groups"][0]["rules"]]


def wait_for_data(port: int, expr: str, seconds: float = 60) -> list[Any]:
    deadline = time.monotonic() + seconds
    while True:
        result: list[Any] = query(port, expr)["data"]["result"]
        if result or time.monotonic() > deadline:
            return result
        time.sleep(0.5)


def test_dashboard_and_alerts_on_real_scrapes(sink: Sink, tmp_path: Path) -> None:
    tool("prometheus")
    with (serving(tmp_path, sink.address) as (port, metrics, _process),
          prometheus(tmp_path, metrics) as prom):
        assert wait_for_data(prom, 'up{job="tth-gateway"} == 1')
        for number in range(6):
            with smtplib.SMTP("127.0.0.1", port, timeout=10) as client:
                client.sendmail("a@x.test", [f"b{number}@x.test"], MESSAGE)
            time.sleep(0.5)
        traffic = wait_for_data(
            prom, 'sum by (direction, action) (rate(tth_decisions_total[30s])) > 0')
        assert traffic, "no traffic on the dashboard"
        for title, expr in grafana_queries() + alert_expressions():
            answer = query(prom, expr)
            assert answer["status"] == "success", (title, answer)
        shown: dict[str, list[Any]] = {}
        for title, expr in grafana_queries():
            shown.setdefault(title, []).extend(query(prom, expr)["data"]["result"])
    assert shown["Transactions by stage and outcome"]
    assert shown["Latency by stage (p50, p95, p99)"]
    assert shown["Quarantine backlog"]
    assert shown["Connections"]
