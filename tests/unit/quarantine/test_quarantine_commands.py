"""`quarantine list | show | delete` in-process: output, body protection and exit codes."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

from gateway.quarantine.heldmeta import hold_request
from gateway.quarantine.local import QuarantineStore
from tests.support.samples import (
    ENVELOPE,
    MESSAGE,
    SECRET_TEXT,
    classified_analysis,
    quarantine_cli,
    quarantine_verdict,
)

KEY = bytes(range(32))
MISSING = "20261125T090035Z-0123456789abcdef0123"


@pytest.fixture
def config(tmp_path: Path) -> Path:
    key = tmp_path / "key"
    key.write_text(base64.b64encode(KEY).decode())
    path = tmp_path / "gateway.yaml"
    path.write_text(
        f"quarantine:\n  path: {tmp_path / 'q'}\n  encryption_key_file: {key}\n", "utf-8"
    )
    return path


@pytest.fixture
def held_id(tmp_path: Path) -> str:
    store = QuarantineStore(tmp_path / "q", KEY)
    return store.hold(MESSAGE, hold_request(ENVELOPE, quarantine_verdict(), classified_analysis()))


def test_list_as_json_and_as_text(config: Path, held_id: str,
                                  capsys: pytest.CaptureFixture[str]) -> None:
    assert quarantine_cli("list", "--config", str(config), "--json") == 0
    records = json.loads(capsys.readouterr().out)
    assert [(r["id"], r["status"]) for r in records] == [(held_id, "held")]
    assert quarantine_cli("list", "--config", str(config), "--status", "released") == 0
    assert held_id not in capsys.readouterr().out
    assert quarantine_cli("list", "--config", str(config)) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("ID\tSTATUS")
    assert lines[1].split("\t")[:2] == [held_id, "held"]


def test_show_never_prints_a_classified_body_unasked(
    config: Path, held_id: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert quarantine_cli("show", held_id, "--config", str(config)) == 0
    out = capsys.readouterr().out
    assert f"id:             {held_id}" in out
    assert "classification: toi_mat" in out
    assert "classified-never-by-mail (quarantine)" in out
    assert "ke-hoach.pdf: ke_hoach, toi_mat, signature valid" in out
    assert SECRET_TEXT not in out
    assert quarantine_cli("show", held_id, "--config", str(config), "--json") == 0
    shown = capsys.readouterr().out
    assert json.loads(shown)["decision"]["classification"] == "toi_mat"
    assert SECRET_TEXT not in shown


def test_show_body_prints_the_message_with_a_warning(
    config: Path, held_id: str, capsysbinary: pytest.CaptureFixture[bytes]
) -> None:
    assert quarantine_cli("show", held_id, "--config", str(config), "--body") == 0
    captured = capsysbinary.readouterr()
    assert captured.out == MESSAGE
    assert b"warning: printing the body of a classified message (toi_mat)" in captured.err


def test_delete_then_the_body_is_gone(config: Path, held_id: str,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    assert quarantine_cli("delete", held_id, "--config", str(config), "--by", "carol") == 0
    assert quarantine_cli("show", held_id, "--config", str(config), "--body") == 2
    assert "was deleted" in capsys.readouterr().err
    assert quarantine_cli("delete", held_id, "--config", str(config)) == 2
    assert quarantine_cli("show", held_id, "--config", str(config)) == 0
    assert "deleted:" in capsys.readouterr().out


def test_exit_codes_for_missing_bad_and_unreadable(
    config: Path, held_id: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert quarantine_cli("show", MISSING, "--config", str(config)) == 1
    assert f"no held message {MISSING}" in capsys.readouterr().err
    assert quarantine_cli("show", "../../etc/passwd", "--config", str(config)) == 2
    assert "not a quarantine id" in capsys.readouterr().err
    assert quarantine_cli("release", MISSING, "--config", str(config)) == 1
    wrong = tmp_path / "wrong.yaml"
    other_key = tmp_path / "other"
    other_key.write_text(base64.b64encode(bytes(32)).decode())
    wrong.write_text(f"quarantine:\n  path: {tmp_path / 'q'}\n  encryption_key_file: {other_key}\n")
    assert quarantine_cli("show", held_id, "--config", str(wrong), "--body") == 2
    assert "configured key is" in capsys.readouterr().err
    broken = tmp_path / "broken.yaml"
    broken.write_text("quarantine:\n  path: [1, 2]\n  colour: blue\n")
    assert quarantine_cli("list", "--config", str(broken)) == 2
    assert "broken.yaml:" in capsys.readouterr().err
    assert quarantine_cli("release", held_id, "--config", str(config), "--upstream", "x:99999") == 2
    assert "bad --upstream" in capsys.readouterr().err
