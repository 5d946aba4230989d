"""What operators use on a running `tth-gateway serve`: /healthz, /readyz, build info, the
metrics lint, refusals at MAIL and RCPT in the audit log and metrics, the pid file with
`policy apply`, the audit log reopened on SIGHUP, readiness told to systemd."""

from __future__ import annotations

import json
import os
import signal
import smtplib
import socket
import struct
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.support.accept import accept_all_policies
from tests.support.served import (
    MESSAGE,
    gateway_command,
    gateway_environment,
    metric_in,
    serving,
    stop,
)
from tests.support.sink import Sink, free_port
from tests.support.tools import tool

FREEMAIL_REFUSED = """\
rules:
  - name: ops-freemail-sender
    description: refuses freemail senders at MAIL (a rule on the envelope only)
    when:
      sender: {in: [freemail_domains]}
    action: reject
    message_vi: "Người gửi bị từ chối"
    message_en: "Sender refused"
"""
BROKEN = "rules:\n  - name: ops-broken\n    when: {sender: {in: [freemail_domains]}}\n" \
         "    action: explode\n"


def get(port: int, path: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=10) as reply:
            return reply.status, reply.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def eventually(check: Callable[[], bool], seconds: float = 15) -> bool:
    deadline = time.monotonic() + seconds
    while not check():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True


def audit(tmp_path: Path, name: str = "audit.jsonl") -> list[dict[str, object]]:
    path = tmp_path / name
    lines = path.read_text("utf-8").splitlines() if path.exists() else []
    return [json.loads(line) for line in lines]


def test_health_readiness_build_info_and_metrics_lint(sink: Sink, tmp_path: Path) -> None:
    with serving(tmp_path, sink.address) as (port, metrics, _process):
        with smtplib.SMTP("127.0.0.1", port, timeout=10) as client:
            client.sendmail("a@x.test", ["b@x.test"], MESSAGE)
        assert get(metrics, "/healthz") == (200, "ok\n")
        status, body = get(metrics, "/readyz")
        assert status == 200, body
        assert body.splitlines()[0] == "ready"
        assert "ok policy: generation 1" in body and "ok upstream:" in body
        status, text = get(metrics, "/metrics")
    assert status == 200
    assert '_created' not in text
    assert 'tth_build_info{python="' in text and 'version="' in text
    assert 'tth_stage_seconds_count{stage="upstream"} 1.0' in text
    assert 'tth_stage_seconds_count{stage="receive"} 1.0' in text
    assert 'tth_stage_seconds_count{stage="analysis"} 1.0' in text
    names = {line.split()[2] for line in text.splitlines() if line.startswith("# TYPE ")}
    ours = {name for name in names if not name.startswith(("process_", "python_"))}
    assert ours and all(name.startswith("tth_") for name in ours), ours
    lint = subprocess.run([tool("promtool"), "check", "metrics"], input=text,
                          capture_output=True, text=True, timeout=60)
    assert lint.returncode == 0, lint.stdout + lint.stderr


def test_readyz_fails_while_the_upstream_is_unreachable(tmp_path: Path) -> None:
    nobody = f"127.0.0.1:{free_port()}"
    with serving(tmp_path, nobody) as (_port, metrics, _process):
        status, body = get(metrics, "/readyz")
        assert get(metrics, "/healthz")[0] == 200
    assert status == 503
    assert body.startswith("not ready\n")
    assert f"FAIL upstream: {nobody} unreachable" in body


def test_refusals_at_mail_and_rcpt_are_audited_and_counted(sink: Sink, tmp_path: Path) -> None:
    sink.behaviour.refuse_rcpt["nobody@x.test"] = "550 5.1.1 No such user"
    with serving(tmp_path, sink.address) as (port, metrics, process):
        (tmp_path / "policies" / "rules.yaml").write_text(FREEMAIL_REFUSED, "utf-8")
        process.send_signal(signal.SIGHUP)
        assert eventually(lambda: metric_in(get(metrics, "/metrics")[1],
                                          "tth_policy_generation") == 2)
        with smtplib.SMTP("127.0.0.1", port, timeout=10) as client:
            client.ehlo("client.test")
            assert client.mail("citizen@gmail.com")[0] == 550
            client.rset()
            assert client.mail("a@x.test")[0] == 250
            assert client.rcpt("nobody@x.test")[0] == 550
            assert client.rcpt("b@x.test")[0] == 250
            assert client.data(MESSAGE)[0] == 250
        text = get(metrics, "/metrics")[1]
    assert metric_in(text, 'tth_transactions_total{outcome="rejected",stage="MAIL"}') == 1
    assert metric_in(text, 'tth_transactions_total{outcome="rejected",stage="RCPT"}') == 1
    assert metric_in(text, 'tth_transactions_total{outcome="relayed",stage="DATA"}') == 1
    records = audit(tmp_path)
    assert [(r["stage"], r["outcome"]) for r in records] == [
        ("MAIL", "rejected"), ("RCPT", "rejected"), ("DATA", "relayed")]
    mail, rcpt, _data = records
    assert mail["mail_from"] == "citizen@gmail.com"
    assert mail["action"] == "reject"
    assert [rule["name"] for rule in mail["rules"]] == ["ops-freemail-sender"]  # type: ignore[index]
    assert mail["reply"] == "550-5.7.1 Nguoi gui bi tu choi | 550 5.7.1 Sender refused"
    assert rcpt["rcpt_refused"] == [{"rcpt": "nobody@x.test", "reply": "550 5.1.1 No such user"}]
    assert rcpt["rules"] == [] and rcpt["action"] == "accept"  # the policy let it; upstream refused


def test_policy_apply_validates_then_signals_the_gateway(sink: Sink, tmp_path: Path) -> None:
    pid_file = tmp_path / "run" / "gateway.pid"
    policies = tmp_path / "policies"
    config = tmp_path / "gateway.yaml"
    with serving(tmp_path, sink.address, server=f"  pid_file: {pid_file}\n",
                 policies=str(policies)) as (port, metrics, process):
        assert pid_file.read_text().strip() == str(process.pid)

        def apply() -> subprocess.CompletedProcess[str]:
            return subprocess.run(gateway_command("policy", "apply", "--config", str(config)),
                                  capture_output=True, text=True, env=gateway_environment(),
                                  cwd=tmp_path, timeout=60)

        (policies / "rules.yaml").write_text(BROKEN, "utf-8")
        refused = apply()
        assert refused.returncode == 2, refused.stderr
        assert "rules.yaml:4:" in refused.stderr and "not applied" in refused.stderr
        time.sleep(0.5)
        assert metric_in(get(metrics, "/metrics")[1], "tth_policy_generation") == 1

        (policies / "rules.yaml").write_text(FREEMAIL_REFUSED, "utf-8")
        applied = apply()
        assert applied.returncode == 0, applied.stderr
        assert f"reload signalled to process {process.pid}" in applied.stdout
        assert eventually(lambda: metric_in(get(metrics, "/metrics")[1],
                                          "tth_policy_generation") == 2)
        with smtplib.SMTP("127.0.0.1", port, timeout=10) as client:
            client.ehlo("client.test")
            assert client.mail("citizen@gmail.com")[0] == 550
        process.send_signal(signal.SIGTERM)
        assert process.wait(30) == 0
    assert not pid_file.exists()


@pytest.mark.parametrize("content", ["-1", "0", "99999999999999999999999", "12abc", "", "own"])
def test_policy_apply_signals_only_a_gateway(tmp_path: Path, content: str) -> None:
    """A pid file holding no process id (`kill` takes -1 for every process, 0 for the
    caller's group), or the id of a process that is not a gateway (a stale file): exit 1
    with the reason, and nothing is signalled."""
    bystander = subprocess.Popen(["sleep", "60"])  # SIGHUP would end it
    try:
        pid_file = tmp_path / "gateway.pid"
        pid_file.write_text(str(bystander.pid) if content == "own" else content)
        policies = accept_all_policies(tmp_path / "policies")
        config = tmp_path / "gateway.yaml"
        config.write_text(f"server:\n  pid_file: {pid_file}\npolicies: {policies}\n")
        applied = subprocess.run(
            gateway_command("policy", "apply", "--config", str(config)), capture_output=True,
            text=True, env=gateway_environment(), cwd=tmp_path, timeout=60,
            start_new_session=True)
        assert applied.returncode == 1, applied.stderr
        assert f"no running gateway in {pid_file}" in applied.stderr
        reason = "is not a tth-gateway" if content == "own" else "is not a process id"
        assert reason in applied.stderr
        assert "Traceback" not in applied.stderr
        assert bystander.poll() is None
    finally:
        bystander.kill()
        bystander.wait(10)


def test_audit_log_is_reopened_on_sighup(sink: Sink, tmp_path: Path) -> None:
    """logrotate's default `create` mode: the file is renamed, then the gateway told."""
    with (serving(tmp_path, sink.address) as (port, _metrics, process),
          smtplib.SMTP("127.0.0.1", port, timeout=10) as client):
        client.sendmail("a@x.test", ["b@x.test"], MESSAGE)
        assert eventually(lambda: len(audit(tmp_path)) == 1)
        (tmp_path / "audit.jsonl").rename(tmp_path / "audit.jsonl.1")
        process.send_signal(signal.SIGHUP)
        assert eventually(lambda: (tmp_path / "audit.jsonl").exists())
        client.sendmail("a@x.test", ["c@x.test"], MESSAGE)
    assert [r["rcpt_accepted"] for r in audit(tmp_path, "audit.jsonl.1")] == [["b@x.test"]]
    assert [r["rcpt_accepted"] for r in audit(tmp_path)] == [["c@x.test"]]


def test_an_audit_log_that_cannot_be_reopened_or_written_loses_no_record(
        sink: Sink, tmp_path: Path) -> None:
    """SIGHUP with the audit path made a folder: the reload still runs (the policy
    generation moves on) and the old file is written on, with one clear ERROR line. With
    the path sending writes to a full device: each record goes to the log instead, and
    tth_audit_write_errors_total counts it; the message is relayed either way."""
    audit_path = tmp_path / "audit.jsonl"
    with serving(tmp_path, sink.address) as (port, metrics, process):
        with smtplib.SMTP("127.0.0.1", port, timeout=10) as client:
            client.sendmail("a@x.test", ["b@x.test"], MESSAGE)
        audit_path.unlink()
        audit_path.mkdir()
        process.send_signal(signal.SIGHUP)
        assert eventually(lambda: metric_in(get(metrics, "/metrics")[1],
                                          "tth_policy_generation") == 2)
        audit_path.rmdir()
        audit_path.symlink_to("/dev/full")
        process.send_signal(signal.SIGHUP)
        assert eventually(lambda: metric_in(get(metrics, "/metrics")[1],
                                          "tth_policy_generation") == 3)
        with smtplib.SMTP("127.0.0.1", port, timeout=10) as client:
            client.sendmail("a@x.test", ["c@x.test"], MESSAGE)
        assert eventually(lambda: metric_in(get(metrics, "/metrics")[1],
                                          "tth_audit_write_errors_total") == 1)
        stop(process)
        assert process.stderr is not None
        log = process.stderr.read()
    assert len(sink.messages) == 2
    assert f"cannot reopen the audit log {audit_path}: Is a directory" in log, log
    lost = [line for line in log.splitlines() if "cannot write the audit log" in line]
    assert len(lost) == 1 and '"rcpt_accepted":["c@x.test"]' in lost[0], log
    assert "Traceback" not in log, log


def test_operator_http_answers_head_and_lets_go_of_slow_or_gone_clients(
        sink: Sink, tmp_path: Path) -> None:
    with serving(tmp_path, sink.address) as (_port, metrics, process):
        for path in ("/healthz", "/metrics"):
            request = urllib.request.Request(f"http://127.0.0.1:{metrics}{path}", method="HEAD")
            with urllib.request.urlopen(request, timeout=10) as reply:
                assert (reply.status, reply.read()) == (200, b"")
        for _ in range(5):  # ask, then reset the connection before the answer is read
            with socket.create_connection(("127.0.0.1", metrics)) as client:
                client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                  struct.pack("ii", 1, 0))
                client.sendall(b"GET /metrics HTTP/1.0\r\n\r\n")
        assert get(metrics, "/healthz") == (200, "ok\n")
        with socket.create_connection(("127.0.0.1", metrics)) as idle:
            idle.sendall(b"GET /healthz HTTP/1.1\r\n")  # and nothing more
            idle.settimeout(30)
            started = time.monotonic()
            assert idle.recv(1000) == b""  # closed by the server, not by us
            assert 5 < time.monotonic() - started < 25
        stop(process)
        assert process.stderr is not None
        log = process.stderr.read()
    assert "Traceback" not in log and "Exception occurred" not in log, log


@pytest.mark.parametrize("workers", [1, 2])
def test_readiness_is_told_to_systemd(sink: Sink, tmp_path: Path, workers: int,
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """Type=notify: READY=1 once listening, STOPPING=1 on SIGTERM, on a real datagram
    socket as systemd's $NOTIFY_SOCKET."""
    address = str(tmp_path / "notify.sock")
    monkeypatch.setitem(os.environ, "NOTIFY_SOCKET", address)
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as listener:
        listener.bind(address)
        listener.settimeout(30)
        with serving(tmp_path, sink.address, "--workers", str(workers)) as (_p, _m, process):
            assert listener.recv(4096) == b"READY=1"
            process.send_signal(signal.SIGTERM)
            states = set()
            while b"STOPPING=1" not in states:
                states.add(listener.recv(4096))
            assert process.wait(30) == 0


HOLD_RULE = """\
rules:
  - name: ops-hold-drill
    description: holds the drill message, to show the quarantine backlog
    when:
      header: {name: Subject, matches: 'HOLD-DRILL'}
    action: quarantine
"""


def test_quarantine_backlog_is_exported(sink: Sink, tmp_path: Path) -> None:
    policies = tmp_path / "policies"
    with serving(tmp_path, sink.address,
                 quarantine=f"{{path: {tmp_path / 'quarantine'}}}") as (port, metrics, process):
        text = get(metrics, "/metrics")[1]
        assert metric_in(text, "tth_quarantine_held_messages") == 0
        assert "tth_quarantine_oldest_held_timestamp_seconds" not in text
        (policies / "rules.yaml").write_text(HOLD_RULE, "utf-8")
        process.send_signal(signal.SIGHUP)
        assert eventually(lambda: metric_in(get(metrics, "/metrics")[1],
                                          "tth_policy_generation") == 2)
        with smtplib.SMTP("127.0.0.1", port, timeout=10) as client:
            client.sendmail("a@x.test", ["b@x.test"],
                            b"From: a@x.test\r\nSubject: HOLD-DRILL\r\n\r\nbody\r\n")
        assert eventually(lambda: metric_in(get(metrics, "/metrics")[1],
                                          "tth_quarantine_held_messages") == 1, seconds=40)
        oldest = metric_in(get(metrics, "/metrics")[1],
                         "tth_quarantine_oldest_held_timestamp_seconds")
    assert abs(oldest - time.time()) < 600
    assert [m.rcpt_tos for m in sink.messages if m.mail_from != "<>"] == []  # held, not relayed
