"""deploy/systemd: the unit passes `systemd-analyze verify` without a warning, runs the
gateway as intended, and its companion settings file is valid."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from gateway.config import load_settings
from tests.support.tools import tool

ROOT = Path(__file__).resolve().parents[3]
SYSTEMD = ROOT / "deploy" / "systemd"
INSTALLED = "/opt/tth-gateway/bin/tth-gateway"


def unit_lines() -> list[str]:
    return (SYSTEMD / "tth-gateway.service").read_text().splitlines()


def test_unit_verifies_cleanly(tmp_path: Path) -> None:
    here = str(Path(sys.executable).parent / "tth-gateway")
    unit = tmp_path / "tth-gateway.service"
    unit.write_text((SYSTEMD / "tth-gateway.service").read_text().replace(INSTALLED, here))
    result = subprocess.run([tool("systemd-analyze"), "verify", str(unit)],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stderr.strip() == ""  # systemd only warns about unknown values


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
