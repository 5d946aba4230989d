"""`tth-gateway serve` as a process: /metrics, SIGTERM drain, configuration errors."""

from __future__ import annotations

import json
import os
import re
import signal
import smtplib
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.support.accept import accept_all_policies
from tests.support.dnsserver import shared_dns
from tests.support.sink import Sink, free_port

ROOT = Path(__file__).resolve().parents[2]
MESSAGE = b"From: a@x.test\r\nSubject: t\r\n\r\nbody\r\n"


def _command(*args: str) -> list[str]:
    return [sys.executable, "-m", "gateway.cli", *args]


def _environment() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(ROOT)}


@contextmanager
def serving(
    tmp_path: Path, upstream: str, *flags: str, server: str = "", **extra: str
) -> Iterator[tuple[int, int, subprocess.Popen[str]]]:
    """`tth-gateway serve` on free ports, with extra `flags`, `server` settings (YAML lines
    indented by two) and top-level config keys `extra`; yields (smtp port, metrics port,
    process)."""
    port, metrics = free_port(), free_port()
    config = tmp_path / "gateway.yaml"
    config.write_text(
        "server:\n  hostname: gw.test\n  shutdown_grace: 10\n" + server
        + "upstream:\n  starttls: \"off\"\n  timeout: 10\n"
        f"audit:\n  path: {tmp_path / 'audit.jsonl'}\n"
        f"dns:\n  resolvers: [\"{shared_dns()}\"]\n"
        + "".join(f"{key}: {value}\n" for key, value in extra.items())
    )
    process = subprocess.Popen(
        _command("serve", "--config", str(config), "--listen", f"127.0.0.1:{port}",
                 "--upstream", upstream, "--metrics", f"127.0.0.1:{metrics}",
                 "--policies", str(accept_all_policies(tmp_path / "policies")), *flags),
        cwd=tmp_path, env=_environment(), stderr=subprocess.PIPE, text=True,
    )
    try:
        _wait_for_port(port, process)
        yield port, metrics, process
    finally:
        stop(process)
        assert process.stderr is not None
        process.stderr.close()


def stop(process: subprocess.Popen[str]) -> None:
    """SIGTERM first, so that a master forwards it and its workers exit with it (a killed
    master would leave them running); SIGKILL if it does not stop in time."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
    process.wait(10)


def _wait_for_port(port: int, process: subprocess.Popen[str]) -> None:
    # generous: each worker is a spawned interpreter importing the whole gateway, which
    # takes half a minute on a loaded 2-CPU machine
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"gateway exited: {process.communicate()[1]}")
        try:
            with smtplib.SMTP("127.0.0.1", port, timeout=2) as client:
                client.noop()
            return
        except OSError:
            time.sleep(0.1)
    raise AssertionError("gateway did not start listening")


def _metric(text: str, name: str) -> float:
    match = re.search(rf"^{re.escape(name)} ([0-9.e+]+)$", text, re.MULTILINE)
    return float(match.group(1)) if match else 0.0


def test_metrics_and_audit_count_what_happened(sink: Sink, tmp_path: Path) -> None:
    with serving(tmp_path, sink.address) as (port, metrics, _process):
        with smtplib.SMTP("127.0.0.1", port) as client:
            client.sendmail("a@x.test", ["b@x.test"], MESSAGE)
            sink.behaviour.data_reply = "554 5.7.1 No thanks"
            try:
                client.sendmail("a@x.test", ["c@x.test"], MESSAGE)
            except smtplib.SMTPDataError as refused:
                assert refused.smtp_code == 554
        with urllib.request.urlopen(f"http://127.0.0.1:{metrics}/metrics", timeout=5) as page:
            text = page.read().decode()
    assert _metric(text, 'tth_transactions_total{outcome="relayed",stage="DATA"}') == 1
    assert _metric(text, 'tth_transactions_total{outcome="rejected",stage="DATA"}') == 1
    assert _metric(text, 'tth_upstream_errors_total{kind="reply_5xx"}') == 1
    assert _metric(text, "tth_connections_total") >= 1
    assert _metric(text, "tth_message_size_bytes_count") == 2
    assert _metric(text, "tth_processing_seconds_count") == 2
    records = [json.loads(line) for line in (tmp_path / "audit.jsonl").read_text().splitlines()]
    relayed, rejected = records
    assert relayed["outcome"] == "relayed"
    assert relayed["mail_from"] == "a@x.test" and relayed["rcpt_accepted"] == ["b@x.test"]
    assert relayed["client_ip"] == "127.0.0.1"
    assert relayed["size"] == len(MESSAGE)
    assert relayed["queue_id"] == "Q1"
    assert relayed["upstream_reply"] == "250 2.0.0 Ok: queued as Q1"
    assert relayed["duration_ms"] > 0
    assert rejected["outcome"] == "rejected"
    assert rejected["reply"] == "554 5.7.1 No thanks"
    assert "body" not in json.dumps(records).replace('"body"', "")


def test_sigterm_lets_the_transaction_in_flight_finish_and_exits_0(
    sink: Sink, tmp_path: Path
) -> None:
    sink.behaviour.data_delay = 1.5
    with serving(tmp_path, sink.address) as (port, _metrics, process):
        outcome: dict[str, object] = {}

        def send() -> None:
            client = smtplib.SMTP("127.0.0.1", port, timeout=20)
            try:
                client.ehlo()
                client.mail("a@x.test")
                client.rcpt("b@x.test")
                outcome["data"] = client.data(MESSAGE)
                outcome["after"] = client.noop()
            finally:
                client.close()

        sender = threading.Thread(target=send)
        sender.start()
        time.sleep(0.8)
        process.send_signal(signal.SIGTERM)
        time.sleep(0.2)
        with smtplib.SMTP() as late:
            refused = False
            try:
                late.connect("127.0.0.1", port)
            except (ConnectionRefusedError, smtplib.SMTPServerDisconnected):
                refused = True
            assert refused
        sender.join(20)
        assert process.wait(20) == 0
    assert outcome["data"] == (250, b"2.0.0 Ok: queued as Q1")
    assert outcome["after"] == (421, b"4.3.2 Service shutting down")
    assert len(sink.messages) == 1


def test_configuration_error_exits_2_with_file_line_column(tmp_path: Path) -> None:
    config = tmp_path / "gateway.yaml"
    config.write_text("server:\n  listen: [\"127.0.0.1:2525\"]\n  max_recipents: 10\n")
    result = subprocess.run(
        _command("serve", "--config", str(config)), cwd=tmp_path, env=_environment(),
        capture_output=True, text=True, timeout=30,
    )
    assert result.returncode == 2
    assert re.search(rf"^{re.escape(str(config))}:3:3: .*max_recipents", result.stderr, re.M), (
        result.stderr
    )


def test_bad_value_is_reported_with_its_position(tmp_path: Path) -> None:
    config = tmp_path / "gateway.yaml"
    config.write_text("upstream:\n  starttls: sometimes\n")
    result = subprocess.run(
        _command("serve", "--config", str(config)), cwd=tmp_path, env=_environment(),
        capture_output=True, text=True, timeout=30,
    )
    assert result.returncode == 2
    assert re.search(rf"^{re.escape(str(config))}:2:\d+: .*starttls", result.stderr, re.M), (
        result.stderr
    )
