"""SIGHUP reloads the policy of a running `tth-gateway serve`, one worker or several."""

from __future__ import annotations

import signal
import smtplib
import time
import urllib.request
from pathlib import Path

import pytest

from tests.support.served import metric_in, serving
from tests.support.sink import Sink

DRILL_RULE = """\
rules:
  - name: sighup-drill
    description: refuses freemail senders, to show that the reload took effect
    when:
      sender: {in: [freemail_domains]}
    action: reject
    message_vi: "Bị từ chối theo chính sách mới nạp"
    message_en: "Refused by the reloaded policy"
"""


def _mail_from(port: int, sender: str) -> int:
    with smtplib.SMTP("127.0.0.1", port, timeout=10) as client:
        client.ehlo("client.test")
        code, _ = client.mail(sender)
        client.rset()
        return code


def _generation(metrics_port: int) -> float:
    with urllib.request.urlopen(f"http://127.0.0.1:{metrics_port}/metrics", timeout=5) as reply:
        return metric_in(reply.read().decode(), "tth_policy_generation")


def _codes(port: int, sender: str, count: int) -> list[int]:
    """MAIL FROM on `count` fresh connections (spread over the workers by the kernel)."""
    return [_mail_from(port, sender) for _ in range(count)]


def _eventually(check: object, expected: object, seconds: float = 30) -> object:
    deadline = time.monotonic() + seconds
    got = check()  # type: ignore[operator]
    while got != expected and time.monotonic() < deadline:
        time.sleep(0.1)
        got = check()  # type: ignore[operator]
    return got


@pytest.mark.parametrize("workers", [1, 2])
def test_sighup_loads_the_edited_policy(tmp_path: Path, sink: Sink, workers: int) -> None:
    with serving(tmp_path, sink.address, "--workers", str(workers),
                 analysis="{watch_interval: 3600}") as (port, metrics, process):
        for _ in range(workers * 3):
            assert _mail_from(port, "citizen@gmail.com") == 250
        assert _generation(metrics) == 1
        (tmp_path / "policies" / "rules.yaml").write_text(DRILL_RULE)
        assert _mail_from(port, "citizen@gmail.com") == 250, "no reload without the signal"
        process.send_signal(signal.SIGHUP)
        assert _eventually(lambda: _generation(metrics), 2) == 2
        # each worker reloads on its own: wait until every connection meets the new policy
        refused = [550] * (workers * 3)
        codes = _eventually(lambda: _codes(port, "citizen@gmail.com", workers * 3), refused)
        assert codes == refused
        assert _mail_from(port, "official@sotttt.thuathienhue.gov.vn") == 250


def test_sighup_while_workers_start_reaches_every_worker(tmp_path: Path, sink: Sink) -> None:
    """`serve` answers as soon as one worker listens; SIGHUPs sent while the other is still
    starting (no handler yet: the default action would kill it, and the master would stop
    everything) wait until it is ready, and then every worker runs the edited policy."""
    with serving(tmp_path, sink.address, "--workers", "2",
                 analysis="{watch_interval: 3600}") as (port, _metrics, process):
        (tmp_path / "policies" / "rules.yaml").write_text(DRILL_RULE)
        for _ in range(10):
            process.send_signal(signal.SIGHUP)
            time.sleep(0.05)
        assert _eventually(lambda: _codes(port, "citizen@gmail.com", 6), [550] * 6) == [550] * 6
        assert process.poll() is None
