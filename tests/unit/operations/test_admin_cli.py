"""`--version`, `config validate` and `policy validate` exit statuses (2 on errors)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from gateway.cli.main import main
from gateway.record.identity import gateway_version

ROOT = Path(__file__).resolve().parents[3]


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["--version"])
    assert exit_.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith(f"tth-gateway {gateway_version()} (Python 3.")
    assert gateway_version() != "0+unknown"


def test_config_validate(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    good = ROOT / "config" / "gateway.example.yaml"
    assert main(["config", "validate", str(good)]) == 0
    assert "configuration is valid" in capsys.readouterr().out
    bad = tmp_path / "gateway.yaml"
    bad.write_text("server:\n  workers: 0\n  listn: ['127.0.0.1:25']\n")
    assert main(["config", "validate", str(bad)]) == 2
    err = capsys.readouterr().err
    assert f"{bad}:2:" in err and f"{bad}:3:" in err


def test_policy_validate_exits_2_on_errors(tmp_path: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    policies = tmp_path / "policies"
    shutil.copytree(ROOT / "policies", policies)
    assert main(["policy", "validate", str(policies)]) == 0
    (policies / "zz.yaml").write_text("rules:\n  - name: x\n    when: {}\n    action: accept\n")
    assert main(["policy", "validate", str(policies)]) == 2
    assert f"{policies / 'zz.yaml'}:" in capsys.readouterr().err


def test_policy_validate_warns_of_unread_files_and_of_no_rules(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Valid, and exit 0, but an administrator must hear that classified mail would pass."""
    policies = tmp_path / "policies"
    shutil.copytree(ROOT / "policies", policies)
    assert main(["policy", "validate", str(policies)]) == 0
    assert "warning" not in capsys.readouterr().err
    (policies / "rules.yaml").rename(policies / "rules.yml")
    assert main(["policy", "validate", str(policies)]) == 0
    assert capsys.readouterr().err.splitlines() == [
        f"warning: {policies / 'rules.yml'}: not read: policy files end in .yaml",
        f"warning: {policies}: no rules: every message is accepted and relayed",
    ]
