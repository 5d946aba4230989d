"""`serve --workers N` with real processes: workers die with their master, a dead worker is
replaced and logged, "listening" is logged once the sockets are bound, nothing is left over."""

from __future__ import annotations

import multiprocessing
import os
import signal
import smtplib
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from gateway.processes import TEMPLATE_HELD_SIGNALS
from gateway.service.supervise import MasterLink
from tests.support.accept import accept_all_policies
from tests.support.processes import living_children, stderr_until_exit
from tests.support.sink import Sink, free_port

ROOT = Path(__file__).resolve().parents[2]
MESSAGE = b"From: a@x.test\r\nSubject: t\r\n\r\nbody\r\n"
LISTENING = "workers listening on"


@dataclass
class Served:
    port: int
    metrics: int
    process: subprocess.Popen[bytes]
    log: Path
    metrics_folder: Path

    def text(self) -> str:
        return self.log.read_text("utf-8", "replace")


def descendants(pid: int) -> list[int]:
    found = []
    for child in living_children(pid):
        found += [child, *descendants(child)]
    return found


def named(pids: list[int], name: str) -> list[int]:
    """Those of `pids` whose process name (/proc/PID/comm) is `name`."""
    found = []
    for pid in pids:
        try:
            if Path(f"/proc/{pid}/comm").read_text().strip() == name:
                found.append(pid)
        except OSError:
            continue
    return found


def template(master: int) -> int:
    """The master's one template (its fork server), which every worker is forked from."""
    (pid,) = named(living_children(master), "tth-template")
    return pid


def workers(master: int) -> list[int]:
    """The worker processes: the template's children, every one of them a worker."""
    forked = living_children(template(master))
    assert named(forked, "tth-worker") == forked
    return forked


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def until(condition: object, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():  # type: ignore[operator]
            return True
        time.sleep(0.1)
    return bool(condition())  # type: ignore[operator]


def _answers(port: int) -> bool:
    try:
        with smtplib.SMTP("127.0.0.1", port, timeout=5) as client:
            return client.noop()[0] == 250
    except OSError:
        return False


def _serve_command(tmp_path: Path, upstream: str, workers: int) -> list[str]:
    """`serve` with a configuration file in `tmp_path`, without its listen and policies."""
    config = tmp_path / "gateway.yaml"
    config.write_text(
        "server:\n  hostname: gw.test\n  shutdown_grace: 2\n"
        "upstream:\n  starttls: \"off\"\n  timeout: 10\n"
        f"audit:\n  path: {tmp_path / 'audit.jsonl'}\n"
    )
    return [sys.executable, "-m", "gateway.cli", "serve", "--config", str(config),
            "--upstream", upstream, "--workers", str(workers)]


def _environment(folder: Path) -> dict[str, str]:
    environment = {**os.environ, "PYTHONPATH": str(ROOT), "TMPDIR": str(folder)}
    environment.pop("PROMETHEUS_MULTIPROC_DIR", None)
    return environment


@contextmanager
def serving_workers(tmp_path: Path, upstream: str, workers: int) -> Iterator[Served]:
    """`serve --workers N`; every process it started is killed at the end, test failed or not."""
    port, metrics = free_port(), free_port()
    folder = tmp_path / "metrics"
    folder.mkdir()
    log = tmp_path / "stderr.log"
    with log.open("wb") as stderr:
        process = subprocess.Popen(
            [*_serve_command(tmp_path, upstream, workers), "--listen", f"127.0.0.1:{port}",
             "--metrics", f"127.0.0.1:{metrics}",
             "--policies", str(accept_all_policies(tmp_path / "policies"))],
            cwd=tmp_path, env=_environment(folder), stderr=stderr, start_new_session=True,
        )
    seen: set[int] = set()
    served = Served(port, metrics, process, log, folder)
    try:
        assert until(lambda: LISTENING in served.text() or process.poll() is not None, 120), \
            served.text()
        assert process.poll() is None, served.text()
        yield served
    finally:
        seen.update(descendants(process.pid))
        if process.poll() is None:
            process.kill()
        process.wait(10)
        for pid in seen:
            if alive(pid):
                os.kill(pid, signal.SIGKILL)


def test_listening_is_logged_once_the_sockets_answer(sink: Sink, tmp_path: Path) -> None:
    with serving_workers(tmp_path, sink.address, 2) as served:
        assert _answers(served.port)  # right after the line, without waiting
        assert len(workers(served.process.pid)) == 2
        assert not named(living_children(served.process.pid), "tth-worker")


@pytest.mark.parametrize("mistake", ["no policy folder", "listen port taken"])
def test_workers_refusing_to_start_stop_the_master_with_the_reason_and_status_2(
        sink: Sink, tmp_path: Path, mistake: str) -> None:
    """A mistake the administrator must fix ends `serve --workers 2` as it ends `serve`: the
    reason on stderr, exit status 2, no traceback, no process left behind."""
    port = free_port()
    policies = tmp_path / "missing"
    if mistake == "listen port taken":
        policies = accept_all_policies(tmp_path / "policies")
    (tmp_path / "metrics").mkdir()
    with socket.socket() as taken:
        if mistake == "listen port taken":
            taken.bind(("127.0.0.1", port))
            taken.listen()
        process = subprocess.Popen(
            [*_serve_command(tmp_path, sink.address, 2), "--listen", f"127.0.0.1:{port}",
             "--policies", str(policies)],
            cwd=tmp_path, env=_environment(tmp_path / "metrics"), stderr=subprocess.PIPE,
            start_new_session=True)
        output = stderr_until_exit(process, 60)
    assert process.returncode == 2, output
    reason = "not a directory" if mistake == "no policy folder" else "address already in use"
    if mistake == "listen port taken":
        assert f"cannot listen on 127.0.0.1:{port} (server.listen)" in output, output
    assert reason in output.lower(), output
    assert "Traceback" not in output, output
    assert "before it was listening; stopping" in output, output


def test_kill_9_of_the_master_takes_workers_and_analysis_children_along(
    sink: Sink, tmp_path: Path
) -> None:
    with serving_workers(tmp_path, sink.address, 2) as served:
        with smtplib.SMTP("127.0.0.1", served.port, timeout=30) as client:
            client.sendmail("a@x.test", ["b@x.test"], MESSAGE)
        family = descendants(served.process.pid)
        assert len(family) > 2, "expected workers and their analysis children"
        assert template(served.process.pid) in family
        served.process.kill()
        served.process.wait(10)
        assert until(lambda: not any(alive(pid) for pid in family), 30), [
            pid for pid in family if alive(pid)
        ]
        assert not _answers(served.port)


def test_a_dead_worker_is_replaced_logged_and_counted(sink: Sink, tmp_path: Path) -> None:
    with serving_workers(tmp_path, sink.address, 2) as served:
        first, second = workers(served.process.pid)
        forked_from = template(served.process.pid)
        os.kill(first, signal.SIGKILL)
        assert until(lambda: "replaced and listening" in served.text(), 120), served.text()
        now = workers(served.process.pid)
        assert len(now) == 2 and first not in now and second in now
        assert template(served.process.pid) == forked_from
        assert "exited with -9" in served.text()
        with urllib.request.urlopen(f"http://127.0.0.1:{served.metrics}/metrics",
                                    timeout=10) as page:
            assert "tth_worker_restarts_total 1.0" in page.read().decode()
        with smtplib.SMTP("127.0.0.1", served.port, timeout=30) as client:
            client.sendmail("a@x.test", ["b@x.test"], MESSAGE)
        family = descendants(served.process.pid)
        served.process.send_signal(signal.SIGTERM)
        assert served.process.wait(60) == 0
        assert until(lambda: not any(alive(pid) for pid in family), 10), [
            pid for pid in family if alive(pid)
        ]
        assert "Traceback" not in served.text(), served.text()
        assert not list(served.metrics_folder.iterdir()), "the metrics folder was left behind"


def test_a_stop_sent_to_the_whole_group_waits_for_the_workers_to_finish(
    sink: Sink, tmp_path: Path
) -> None:
    """As a shell's `kill -TERM -PGID` or systemd's stop of the control group: every process
    gets SIGTERM at once. The master must still outlive its workers, which finish the
    transaction in flight (up to `shutdown_grace`, 2 s here) before they exit."""
    with serving_workers(tmp_path, sink.address, 2) as served:
        forked = workers(served.process.pid)
        client = smtplib.SMTP("127.0.0.1", served.port, timeout=30)
        try:
            client.ehlo()
            assert client.mail("a@x.test")[0] == 250
            assert client.rcpt("b@x.test")[0] == 250
            client.putcmd("data")
            assert client.getreply()[0] == 354
            client.send(b"Subject: in flight\r\n\r\nfirst line\r\n")  # no end yet
            os.killpg(served.process.pid, signal.SIGTERM)
            started = time.monotonic()
            assert served.process.wait(60) == 0, served.text()
            waited = time.monotonic() - started
            still = [pid for pid in forked if alive(pid)]
            assert client.getreply()[0] == 421  # told at the end of the grace, not cut off
        finally:
            client.close()
        assert still == [], f"workers {still} outlived their master"
        assert waited >= 1.5, f"the master exited after {waited:.1f} s, before the grace ended"
        assert "Traceback" not in served.text(), served.text()


@pytest.mark.parametrize("master_gone", [True, False])
def test_a_worker_whose_master_is_gone_already_stops_at_once(master_gone: bool) -> None:
    ours, theirs = multiprocessing.Pipe(duplex=True)
    if master_gone:
        ours.close()
    pid = os.fork()
    if pid == 0:
        MasterLink(os.getppid(), theirs).bind()
        os._exit(0)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == (-signal.SIGTERM if master_gone else 0)


@pytest.mark.parametrize(("held", "survives"), [(signal.SIGHUP, True), (signal.SIGTERM, False)])
def test_signals_held_by_the_template_reach_a_starting_worker(held: int, survives: bool) -> None:
    """A signal sent to the whole group while a worker was being forked waits, held, until
    the worker binds: a SIGTERM then stops it; a SIGHUP (a reload) does not kill it."""
    ours, theirs = multiprocessing.Pipe(duplex=True)
    pid = os.fork()
    if pid == 0:
        signal.pthread_sigmask(signal.SIG_BLOCK, TEMPLATE_HELD_SIGNALS)  # as the template
        os.kill(os.getpid(), held)
        MasterLink(os.getppid(), theirs).bind()
        os._exit(0)
    _, status = os.waitpid(pid, 0)
    ours.close()
    assert os.waitstatus_to_exitcode(status) == (0 if survives else -signal.SIGTERM)


def test_the_master_publishes_the_build_info_beside_the_workers_metrics(
    sink: Sink, tmp_path: Path
) -> None:
    """The dashboard lists instances by `tth_build_info`: with workers it must be there too."""
    with serving_workers(tmp_path, sink.address, 2) as served, urllib.request.urlopen(
        f"http://127.0.0.1:{served.metrics}/metrics", timeout=10
    ) as page:
        text = page.read().decode()
    assert 'tth_build_info{python="' in text and 'version="' in text, text
    assert "tth_policy_generation 1.0" in text


@pytest.mark.parametrize("count", [1, 2])
def test_a_metrics_address_in_use_is_named_with_its_setting(
        sink: Sink, tmp_path: Path, count: int) -> None:
    """`serve` that cannot listen for /metrics says where and which setting, exits 2, and
    leaves no process behind, with one worker or several."""
    port, metrics = free_port(), free_port()
    (tmp_path / "metrics").mkdir()
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", metrics))
        taken.listen()
        process = subprocess.Popen(
            [*_serve_command(tmp_path, sink.address, count), "--listen", f"127.0.0.1:{port}",
             "--metrics", f"127.0.0.1:{metrics}",
             "--policies", str(accept_all_policies(tmp_path / "policies"))],
            cwd=tmp_path, env=_environment(tmp_path / "metrics"), stderr=subprocess.PIPE,
            start_new_session=True)
        output = stderr_until_exit(process, 60)
    assert process.returncode == 2, output
    assert f"cannot listen on 127.0.0.1:{metrics} (metrics.listen)" in output, output
    assert "address already in use" in output.lower(), output
    assert "Traceback" not in output, output


@pytest.mark.parametrize("count", [1, 2])
def test_a_syslog_host_that_does_not_resolve_stops_serve_with_status_2(
        sink: Sink, tmp_path: Path, count: int) -> None:
    command = _serve_command(tmp_path, sink.address, count)
    config = tmp_path / "gateway.yaml"
    config.write_text(config.read_text() + "logging:\n  syslog: nowhere.invalid:514\n")
    (tmp_path / "metrics").mkdir()
    process = subprocess.Popen(
        [*command, "--listen", f"127.0.0.1:{free_port()}", "--metrics", f"127.0.0.1:{free_port()}",
         "--policies", str(accept_all_policies(tmp_path / "policies"))],
        cwd=tmp_path, env=_environment(tmp_path / "metrics"), stderr=subprocess.PIPE,
        start_new_session=True)
    output = stderr_until_exit(process, 60)
    assert process.returncode == 2, output
    assert "logging.syslog: cannot use nowhere.invalid:514" in output, output
    assert "Traceback" not in output, output
