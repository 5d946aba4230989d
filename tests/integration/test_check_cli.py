"""`tth-gateway check` refuses at DATA what the live gateway refuses there, before any policy."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def check(message: Path, *flags: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "gateway.cli", "check", str(message),
         "--policies", str(ROOT / "policies"), "--json", *flags],
        capture_output=True, text=True, timeout=60, cwd=ROOT,
    )


def test_raw_8bit_header_is_refused_at_data_as_live(tmp_path: Path) -> None:
    message = tmp_path / "raw.eml"
    message.write_bytes("From: a@gmail.com\nTo: b@hue.gov.vn\nSubject: Giấy mời\n\nx\n"
                        .encode())
    result = check(message)
    assert result.returncode == 6, result.stderr
    verdict = json.loads(result.stdout)
    assert (verdict["action"], verdict["data_problem"]) == ("reject", "eight_bit_header")


def test_a_file_without_final_newline_is_checked(tmp_path: Path) -> None:
    message = tmp_path / "plain.eml"
    message.write_bytes(b"From: a@gmail.com\nTo: b@hue.gov.vn\nSubject: hi\n\nno newline")
    result = check(message, "--client-ip", "203.0.113.5")
    assert result.returncode == 0, result.stderr
    verdict = json.loads(result.stdout)
    assert (verdict["action"], verdict["direction"]) == ("accept", "inbound")
    assert verdict["data_problem"] is None
