"""A worker template (the master's fork server) that fails as it imports: the master says so
in one log line and stops before it listens, or, once serving, tries again with a delay.

Each test runs a real master (`Supervisor`) in a process of its own, with a template module
written to `tmp_path` that raises while a marker file exists, and workers that only say
ready and wait for the master's end of their socket pair to close."""

from __future__ import annotations

import os
import selectors
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.support.processes import end_session, living_children, living_in_group

ROOT = Path(__file__).resolve().parents[2]

TEMPLATE = """
    import os
    if os.path.exists(os.environ["BROKEN_MARKER"]):
        raise RuntimeError("the template broke as it imported")
"""

WORKER = """
    def work(settings, link):
        link.bind()
        link.ready()
        try:
            link.channel.recv_bytes()
        except EOFError:
            pass
"""

MASTER = """
    import logging
    import sys

    import worker_code
    from gateway.service.supervise import Supervisor

    if __name__ == "__main__":
        logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(message)s")
        supervisor = Supervisor(int(sys.argv[1]), worker_code.work, None,
                                lambda: logging.warning("announced"), "flaky_template")
        sys.exit(supervisor.run())
"""


class Master:
    """The master's process and its stderr, read line by line with a deadline."""

    def __init__(self, process: subprocess.Popen[bytes]) -> None:
        self.process = process
        self.lines: list[str] = []
        self._selector = selectors.DefaultSelector()
        assert process.stderr is not None
        os.set_blocking(process.stderr.fileno(), False)
        self._selector.register(process.stderr, selectors.EVENT_READ)
        self._partial = b""

    def wait_for(self, text: str, seconds: float = 30) -> bool:
        """Read stderr until a line holds `text` (True) or `seconds` pass (False)."""
        deadline = time.monotonic() + seconds
        while not any(text in line for line in self.lines):
            left = deadline - time.monotonic()
            if left <= 0 or not self._read(left):
                return any(text in line for line in self.lines)
        return True

    def _read(self, seconds: float) -> bool:
        """One read; False at end of file or when nothing came in `seconds`."""
        if not self._selector.select(seconds):
            return False
        assert self.process.stderr is not None
        chunk = self.process.stderr.read()
        if not chunk:
            return False
        *complete, self._partial = (self._partial + chunk).split(b"\n")
        self.lines += [line.decode("utf-8", "replace") for line in complete]
        return True

    def rest(self, seconds: float = 30) -> str:
        """Everything it wrote, after waiting up to `seconds` for it to exit."""
        self.process.wait(seconds)
        while self._read(0.1):
            pass
        return "\n".join(self.lines)


@contextmanager
def master(tmp_path: Path, workers: int, *, broken: bool) -> Iterator[Master]:
    """Start the master; at the end kill it and every process it started, test failed or not."""
    code = tmp_path / "code"
    code.mkdir()
    (code / "flaky_template.py").write_text(textwrap.dedent(TEMPLATE))
    (code / "worker_code.py").write_text(textwrap.dedent(WORKER))
    (code / "master.py").write_text(textwrap.dedent(MASTER))
    marker = tmp_path / "broken"
    if broken:
        marker.touch()
    # Python 3.11's fork server ignores the master's sys.path: the template is found
    # through PYTHONPATH, which it inherits.
    environment = {**os.environ, "PYTHONPATH": f"{code}{os.pathsep}{ROOT}",
                   "BROKEN_MARKER": str(marker)}
    process = subprocess.Popen([sys.executable, str(code / "master.py"), str(workers)],
                               env=environment, stderr=subprocess.PIPE, start_new_session=True)
    try:
        yield Master(process)
    finally:
        end_session(process)


def _group_ends(group: int, seconds: float) -> bool:
    """Whether every process of `group` exits within `seconds`."""
    deadline = time.monotonic() + seconds
    while living_in_group(group) and time.monotonic() < deadline:
        time.sleep(0.1)
    return not living_in_group(group)


def _fork_server(master_pid: int) -> int:
    """The master's fork server (the template): its child whose command line runs it."""
    for pid in living_children(master_pid):
        if "forkserver" in Path(f"/proc/{pid}/cmdline").read_text(errors="replace"):
            return pid
    raise AssertionError("no fork server")


def test_a_template_that_fails_at_start_stops_the_master_with_one_clear_line(
        tmp_path: Path) -> None:
    with master(tmp_path, 2, broken=True) as started:
        output = started.rest()
        assert started.process.returncode == 1, output
        assert "RuntimeError: the template broke as it imported" in output  # the template's own
        assert "worker 0 could not be started (the worker template failed" in output
        assert "stopping" in output
        assert "worker 1 could not be started" not in output, "it stopped at the first"
        assert "supervise.py" not in output, "the master itself must not show a traceback"
        assert "announced" not in output
        assert _group_ends(started.process.pid, 5), "a process outlived the master"


def test_a_template_that_fails_while_serving_is_tried_again_until_it_starts(
        tmp_path: Path) -> None:
    with master(tmp_path, 1, broken=False) as started:
        assert started.wait_for("announced"), "\n".join(started.lines)
        (tmp_path / "broken").touch()
        os.kill(_fork_server(started.process.pid), signal.SIGKILL)  # its worker dies with it
        assert started.wait_for("trying again in"), "\n".join(started.lines)
        assert started.process.poll() is None, "the master gave up while serving"
        (tmp_path / "broken").unlink()
        assert started.wait_for("replaced and listening"), "\n".join(started.lines)
        started.process.send_signal(signal.SIGTERM)
        output = started.rest()
        assert started.process.returncode == 0, output
        assert "supervise.py" not in output, output
