"""`analysis.workers` is the total over the SMTP workers: each gets an equal share, and a
total too small to give each one is refused, from the file and with `--workers`."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.cli.main import main
from gateway.config import Settings

MESSAGE = "analysis.workers is the total over the SMTP workers"


@pytest.mark.parametrize(("smtp", "total", "each"), [(1, 2, 2), (2, 2, 1), (2, 5, 2),
                                                     (3, 9, 3)])
def test_each_smtp_worker_gets_an_equal_share(smtp: int, total: int, each: int) -> None:
    settings = Settings.model_validate(
        {"server": {"workers": smtp}, "analysis": {"workers": total}})
    assert settings.analysis_per_worker() == each


def test_fewer_than_one_each_is_refused_in_the_file(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "gateway.yaml"
    config.write_text("server:\n  workers: 4\nanalysis:\n  workers: 2\n")
    assert main(["config", "validate", str(config)]) == 2
    err = capsys.readouterr().err
    assert MESSAGE in err and "(set it to 4 or more)" in err


def test_fewer_than_one_each_is_refused_with_the_flag(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "gateway.yaml"
    config.write_text("analysis:\n  workers: 1\n")
    assert main(["serve", "--config", str(config), "--workers", "2"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("settings: ") and MESSAGE in err
    assert "Traceback" not in err


@pytest.mark.parametrize("smtp", [1, 2, 4, 8])
def test_unset_gives_each_smtp_worker_one(smtp: int) -> None:
    settings = Settings.model_validate({"server": {"workers": smtp}})
    assert settings.analysis.workers is None
    assert settings.analysis_per_worker() == 1


def test_the_flag_alone_needs_no_analysis_setting(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "gateway.yaml"
    config.write_text("server:\n  workers: 4\n")
    assert main(["config", "validate", str(config)]) == 0
    assert MESSAGE not in capsys.readouterr().err
