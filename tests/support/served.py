"""`tth-gateway serve` run as a process for tests: started on free ports, always stopped."""

from __future__ import annotations

import os
import re
import smtplib
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.support.accept import accept_all_policies
from tests.support.dnsserver import shared_dns
from tests.support.sink import free_port

ROOT = Path(__file__).resolve().parents[2]
MESSAGE = b"From: a@x.test\r\nSubject: t\r\n\r\nbody\r\n"


def gateway_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "gateway.cli", *args]


def gateway_environment() -> dict[str, str]:
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
        gateway_command("serve", "--config", str(config), "--listen", f"127.0.0.1:{port}",
                 "--upstream", upstream, "--metrics", f"127.0.0.1:{metrics}",
                 "--policies", str(accept_all_policies(tmp_path / "policies")), *flags),
        cwd=tmp_path, env=gateway_environment(), stderr=subprocess.PIPE, text=True,
    )
    try:
        wait_for_port(port, process)
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


def wait_for_port(port: int, process: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 90  # `serve --workers 2` took 19.5–30 s at a load of 12
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


def metric_in(text: str, name: str) -> float:
    match = re.search(rf"^{re.escape(name)} ([0-9.e+]+)$", text, re.MULTILINE)
    return float(match.group(1)) if match else 0.0
