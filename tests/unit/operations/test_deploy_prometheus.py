"""deploy/prometheus: the alert rules pass `promtool check rules`, their unit tests pass
`promtool test rules`, and every metric they read is one the gateway exports."""

from __future__ import annotations

import subprocess
from pathlib import Path

import yaml

from tests.support.exported import STANDARD, exported_names, referenced_names
from tests.support.tools import tool

PROMETHEUS = Path(__file__).resolve().parents[3] / "deploy" / "prometheus"


def promtool(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([tool("promtool"), *args], cwd=PROMETHEUS, capture_output=True,
                          text=True, timeout=120)


def test_rules_are_valid() -> None:
    result = promtool("check", "rules", "alerts.yml")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS: 13 rules found" in result.stdout


def test_rules_unit_tests_pass() -> None:
    result = promtool("test", "rules", "alerts.test.yml")
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_alert_is_unit_tested() -> None:
    rules = yaml.safe_load((PROMETHEUS / "alerts.yml").read_text())["groups"][0]["rules"]
    tests = yaml.safe_load((PROMETHEUS / "alerts.test.yml").read_text())["tests"]
    firing = {case["alertname"] for test in tests for case in test["alert_rule_test"]
              if case.get("exp_alerts")}
    assert {rule["alert"] for rule in rules} == firing


def test_alerts_read_only_exported_metrics() -> None:
    exported = exported_names() | STANDARD
    rules = yaml.safe_load((PROMETHEUS / "alerts.yml").read_text())["groups"][0]["rules"]
    for rule in rules:
        names = referenced_names(rule["expr"])
        assert names, rule["alert"]
        assert names <= exported, (rule["alert"], names - exported)


def test_scrape_configuration_is_valid(tmp_path: Path) -> None:
    """The compose Prometheus's, with the container's rule path pointed at alerts.yml."""
    text = (PROMETHEUS.parent / "compose" / "prometheus.yml").read_text()
    assert "/etc/prometheus/alerts.yml" in text
    config = tmp_path / "prometheus.yml"
    config.write_text(text.replace("/etc/prometheus/alerts.yml", str(PROMETHEUS / "alerts.yml")))
    result = promtool("check", "config", str(config))
    assert result.returncode == 0, result.stdout + result.stderr
