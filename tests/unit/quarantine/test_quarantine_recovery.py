"""An atomic hold: a process killed at any point of it leaves a complete hold or nothing
(after recovery), and every held file is readable by the gateway's user only."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import textwrap
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from gateway.quarantine.local import QuarantineStore

KEY = bytes(range(32))

# The child holds one message with two notices and kills itself (SIGKILL, no cleanup)
# just before the rename number `crash_at` (1 message, 2 notices, 3 record); 0 never.
CHILD = textwrap.dedent("""
    import os, signal, sys
    from pathlib import Path
    from gateway.quarantine.heldmeta import hold_request
    from gateway.quarantine.interface import OutgoingNotice
    from gateway.quarantine.local import QuarantineStore
    from tests.support.samples import (
        ENVELOPE, MESSAGE, classified_analysis, quarantine_verdict)

    crash_at = int(sys.argv[2])
    renames = 0
    real_replace = os.replace

    def replace(source, target):
        global renames
        renames += 1
        if renames == crash_at:
            os.kill(os.getpid(), signal.SIGKILL)
        real_replace(source, target)

    os.replace = replace
    store = QuarantineStore(Path(sys.argv[1]), bytes(range(32)))
    request = hold_request(ENVELOPE, quarantine_verdict(), classified_analysis())
    notices = lambda held_id: [OutgoingNotice(("a@x.vn",), b"Subject: " + held_id.encode()),
                               OutgoingNotice(("b@x.vn",), b"Subject: two")]
    print(store.hold(MESSAGE, request, notices=notices))
""")


def hold_in_child(folder: Path, crash_at: int) -> subprocess.CompletedProcess[str]:
    root = Path(__file__).resolve().parents[3]
    return subprocess.run([sys.executable, "-c", CHILD, str(folder), str(crash_at)],
                          capture_output=True, text=True, timeout=120, cwd=root, check=False)


@pytest.mark.parametrize("crash_at", [1, 2, 3, 0])
def test_a_kill_at_any_point_leaves_a_whole_hold_or_nothing(tmp_path: Path,
                                                            crash_at: int) -> None:
    folder = tmp_path / "q"
    child = hold_in_child(folder, crash_at)
    store = QuarantineStore(folder, KEY)
    later = datetime.now(UTC) + timedelta(hours=1)
    if crash_at:
        assert child.returncode == -9, child.stderr
        assert store.find() == []
        assert any(folder.iterdir())  # what the crash left behind
        assert store.recover(now=later) == 1
        assert list(folder.iterdir()) == []
        return
    assert child.returncode == 0, child.stderr
    held_id = child.stdout.strip()
    assert store.recover(now=later) == 0
    assert [m.id for m in store.find()] == [held_id]
    assert store.read_message(held_id).startswith(b"From:")
    assert store.notice_counts().pending == 2
    for path in folder.iterdir():
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700


def test_recovery_spares_a_hold_another_worker_is_writing(tmp_path: Path) -> None:
    folder = tmp_path / "q"
    assert hold_in_child(folder, 3).returncode == -9
    store = QuarantineStore(folder, KEY)
    assert store.recover() == 0  # fresh: perhaps still being written by a live worker
    assert len(list(folder.iterdir())) == 3
    old = time.time() - 3600
    for path in folder.iterdir():
        os.utime(path, (old, old))
    assert store.recover() == 1
    assert list(folder.iterdir()) == []
