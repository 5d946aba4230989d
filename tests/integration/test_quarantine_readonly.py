"""A user who may read the quarantine but not change it: `release` and `delete` refuse
before anything is sent or removed (the command as a separate process, without the
privileges that would let root write anyway)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from gateway.quarantine.heldmeta import HoldStatus, hold_request
from gateway.quarantine.local import QuarantineStore
from tests.support.samples import ENVELOPE, MESSAGE, classified_analysis, quarantine_verdict
from tests.support.sink import Sink

ROOT = Path(__file__).resolve().parents[2]
#: Root keeps its uid but loses what lets it write files whatever their mode.
UNPRIVILEGED = ["setpriv", "--inh-caps=-all",
                "--bounding-set=-dac_override,-dac_read_search,-fowner", "--"]


def _can_drop_privileges() -> bool:
    if os.geteuid() != 0:
        return True
    try:
        return subprocess.run([*UNPRIVILEGED, "true"], capture_output=True, timeout=30,
                              check=False).returncode == 0
    except OSError:  # no setpriv
        return False


pytestmark = pytest.mark.skipif(not _can_drop_privileges(),
                                reason="root here cannot drop the capabilities (setpriv)")


def quarantine(config: Path, *argv: str) -> subprocess.CompletedProcess[bytes]:
    """`quarantine ARGV…` of this checkout, run with no way around the files' modes."""
    prefix = UNPRIVILEGED if os.geteuid() == 0 else []
    return subprocess.run(
        [*prefix, sys.executable, "-m", "gateway.cli", "quarantine", *argv,
         "--config", str(config)],
        capture_output=True, timeout=60, check=False, cwd=config.parent,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )


@pytest.fixture(params=[0o444, 0o644], ids=["files-read-only", "folder-read-only"])
def read_only(tmp_path: Path, request: pytest.FixtureRequest
              ) -> Iterator[tuple[QuarantineStore, str]]:
    """A held message in a folder (0555) nobody may change, its files read-only or not
    (the record is rewritten as a new file renamed over it: the folder is what counts)."""
    folder = tmp_path / "q"
    store = QuarantineStore(folder)
    held_id = store.hold(MESSAGE, hold_request(ENVELOPE, quarantine_verdict(),
                                               classified_analysis()))
    files = list(folder.iterdir())
    for path in files:
        path.chmod(request.param)
    folder.chmod(0o555)
    try:
        yield store, held_id
    finally:
        folder.chmod(0o700)
        for path in files:
            path.chmod(0o600)


def test_release_and_delete_refuse_before_acting_when_the_store_is_read_only(
        sink: Sink, tmp_path: Path, read_only: tuple[QuarantineStore, str]) -> None:
    store, held_id = read_only
    config = tmp_path / "gateway.json"
    config.write_text(json.dumps({
        "upstream": {"address": sink.address, "starttls": "off", "connect_timeout": 2},
        "quarantine": {"path": str(store.directory)},
        "audit": {"path": str(tmp_path / "audit.jsonl")},
    }))
    listed = quarantine(config, "list", "--json")  # reading is allowed
    assert listed.returncode == 0, listed.stderr
    for command in ("release", "delete"):
        done = quarantine(config, command, held_id, "--reason", "test")
        assert done.returncode == 77, done.stderr  # not allowed
        assert f"held message {held_id} cannot be changed by you".encode() in done.stderr
        assert b"Permission denied" in done.stderr and b"nothing was done" in done.stderr
    assert sink.messages == []
    assert store.get(held_id).status is HoldStatus.HELD
    assert store.read_message(held_id) == MESSAGE
    assert not (tmp_path / "audit.jsonl").exists()
