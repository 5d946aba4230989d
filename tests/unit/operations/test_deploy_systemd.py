"""deploy/systemd: the unit passes `systemd-analyze verify` without a warning, runs the
gateway as intended, and its companion settings file is valid."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from gateway.config import load_settings
from tests.support.tools import tool

ROOT = Path(__file__).resolve().parents[3]
SYSTEMD = ROOT / "deploy" / "systemd"
INSTALLED = "/opt/tth-gateway/bin/tth-gateway"


def unit_lines() -> list[str]:
    return (SYSTEMD / "tth-gateway.service").read_text().splitlines()


UNITS = ("tth-gateway.service", "tth-gateway-digest.service", "tth-gateway-digest.timer")


@pytest.mark.parametrize("name", UNITS)
def test_units_verify_cleanly(tmp_path: Path, name: str) -> None:
    here = str(Path(sys.executable).parent / "tth-gateway")
    for each in UNITS:  # a timer is verified with the service it starts beside it
        (tmp_path / each).write_text((SYSTEMD / each).read_text().replace(INSTALLED, here))
    result = subprocess.run([tool("systemd-analyze"), "verify", str(tmp_path / name)],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stderr.strip() == ""  # systemd only warns about unknown values


def test_digest_runs_the_digest_command_daily() -> None:
    service = (SYSTEMD / "tth-gateway-digest.service").read_text().splitlines()
    timer = (SYSTEMD / "tth-gateway-digest.timer").read_text().splitlines()
    assert (f"ExecStart={INSTALLED} quarantine digest --config "
            "/etc/tth-gateway/gateway.yaml") in service
    assert "Type=oneshot" in service and "User=tth-gateway" in service
    assert "OnCalendar=*-*-* 07:30:00" in timer and "Persistent=true" in timer


def test_unit_is_notify_reloads_with_sighup_and_is_hardened() -> None:
    lines = set(unit_lines())
    for expected in ("Type=notify", "NotifyAccess=all", "ExecReload=/bin/kill -HUP $MAINPID",
                     "User=tth-gateway", "NoNewPrivileges=yes", "ProtectSystem=strict",
                     "RuntimeDirectory=tth-gateway"):
        assert expected in lines, expected
    starts = [line for line in lines if line.startswith(("ExecStart=", "ExecStartPre="))]
    assert all(line.split("=", 1)[1].startswith(INSTALLED) for line in starts)


def test_companion_settings_are_valid_and_match_the_unit() -> None:
    settings = load_settings(SYSTEMD / "gateway.yaml")
    assert settings.server.pid_file == Path("/run/tth-gateway/gateway.pid")
    assert settings.audit.path is not None
    assert str(settings.audit.path).startswith("/var/log/tth-gateway/")
    assert str(settings.quarantine.path).startswith("/var/lib/tth-gateway/")
    rotate = (SYSTEMD / "tth-gateway.logrotate").read_text()
    assert f"{settings.audit.path} {{" in rotate and "create 0640" in rotate
