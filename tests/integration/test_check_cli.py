"""`tth-gateway check` refuses at DATA what the live gateway refuses there, before any policy."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.fixtures.documents import cp1258
from tests.support.dnsserver import shared_dns

ROOT = Path(__file__).resolve().parents[2]


def check(message: Path, *flags: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "gateway.cli", "check", str(message),
         "--policies", str(ROOT / "policies"), "--json", "--dns", shared_dns(), *flags],
        capture_output=True, text=True, timeout=60, cwd=ROOT,
    )


def test_raw_8bit_header_is_refused_at_data_as_live_when_configured(tmp_path: Path) -> None:
    message = tmp_path / "raw.eml"
    message.write_bytes("From: a@gmail.com\nTo: b@hue.gov.vn\nSubject: Giấy mời\n\nx\n"
                        .encode())
    config = tmp_path / "gateway.yaml"
    config.write_text("server:\n  eight_bit_headers: reject\n")
    result = check(message, "--config", str(config))
    assert result.returncode == 6, result.stderr
    verdict = json.loads(result.stdout)
    assert (verdict["action"], verdict["data_problem"]) == ("reject", "eight_bit_header")


def test_raw_8bit_classified_subject_is_analysed_by_default(tmp_path: Path) -> None:
    message = tmp_path / "raw.eml"
    message.write_bytes(b"From: a@gmail.com\nTo: vanthu@thuathienhue.gov.vn\nSubject: "
                        + cp1258("[TỐI MẬT] Kế hoạch") + b"\n\nx\n")
    result = check(message, "--client-ip", "203.0.113.5")
    verdict = json.loads(result.stdout)
    assert verdict["data_problem"] is None, verdict
    assert (verdict["action"], verdict["classification"]) == ("quarantine", "toi_mat")


def test_a_file_without_final_newline_is_checked(tmp_path: Path) -> None:
    message = tmp_path / "plain.eml"
    message.write_bytes(b"From: a@gmail.com\nTo: b@hue.gov.vn\nSubject: hi\n\nno newline")
    result = check(message, "--client-ip", "203.0.113.5")
    assert result.returncode == 0, result.stderr
    verdict = json.loads(result.stdout)
    assert (verdict["action"], verdict["direction"]) == ("accept", "inbound")
    assert verdict["data_problem"] is None
