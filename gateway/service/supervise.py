"""The process model of `serve --workers N`: a master that keeps N workers alive, and workers
(and their analysis children) that never outlive their parent.

Each worker is tied to the master twice: the kernel sends it SIGTERM when the
template it was forked from dies, and the template exits with the master (Linux
`prctl(PR_SET_PDEATHSIG)`); it also watches its end of a
socket pair whose other end only the master holds (end of file: the master is
gone). The same socket pair carries the worker's "ready" once its listening
sockets are bound. The master restarts a worker that dies, with a log line,
backing off when one dies again and again right after starting.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import os
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from multiprocessing import forkserver
from multiprocessing.connection import Connection, wait
from typing import Any

from prometheus_client import multiprocess

from gateway.processes import TEMPLATE_HELD_SIGNALS, die_with_parent

log = logging.getLogger("gateway.service.supervise")

READY = b"ready"
#: A worker's exit status when the administrator must fix something before it can serve
#: (policies or trust store refused, a port taken), as `serve` with one worker exits; the
#: master exits with it too.
REFUSED_TO_START = 2
#: A worker that dies sooner than this after starting is restarted with a growing delay.
QUICK_DEATH = 10.0
MAX_BACKOFF = 30.0


@dataclass
class MasterLink:
    """What a worker gets from the master: its pid and the worker's end of their socket pair."""

    master: int
    channel: Connection
    replacement: bool = False

    def bind(self) -> None:
        """Called first thing in the worker: die with the template it was forked from, which
        exits with the master, take the signals the template holds (a SIGTERM sent while
        this worker started is acted on now; a SIGHUP is ignored until the worker's own
        handler is in place, since it reads the policy as it starts, and the master holds
        back its own SIGHUPs until the worker is ready), and stop at once if the master is
        gone already (its end of the socket pair is closed)."""
        _release_template()
        die_with_parent(signal.SIGTERM)
        signal.signal(signal.SIGHUP, signal.SIG_IGN)
        signal.pthread_sigmask(signal.SIG_UNBLOCK, TEMPLATE_HELD_SIGNALS)
        if self.channel.poll(0):
            os.kill(os.getpid(), signal.SIGTERM)

    def watch(self, loop: asyncio.AbstractEventLoop, stop: Callable[[], None]) -> None:
        """Call `stop` when the master's end closes (it never writes, so readable means gone)."""
        fd = self.channel.fileno()

        def gone() -> None:
            loop.remove_reader(fd)
            log.error("master process %d is gone: stopping this worker", self.master)
            stop()

        loop.add_reader(fd, gone)

    def ready(self) -> None:
        """Tell the master this worker's sockets are bound."""
        self.channel.send_bytes(READY)


def _release_template() -> None:
    """Close this worker's copy of the write end of the fork server's "alive" pipe (each
    process it forks gets one; CPython's `multiprocessing.forkserver`): the fork server
    then exits as soon as the master does, not once the last worker has."""
    server = forkserver._forkserver
    fd = getattr(server, "_forkserver_alive_fd", None)
    if fd is not None:
        os.close(fd)
        server._forkserver_alive_fd = None  # type: ignore[attr-defined]


def _restart_later(slot: _Slot, *, quick: bool) -> None:
    """Schedule the slot's next start: at once, or, after a quick failure, with a delay
    doubling from 1 s up to MAX_BACKOFF."""
    slot.backoff = min(MAX_BACKOFF, max(1.0, slot.backoff * 2)) if quick else 0.0
    slot.restart_at = time.monotonic() + slot.backoff


@dataclass
class _Slot:
    number: int
    process: multiprocessing.process.BaseProcess | None = None
    channel: Connection | None = None
    ready: bool = False
    started: float = 0.0
    backoff: float = 0.0
    restart_at: float | None = None
    exits: list[int | None] = field(default_factory=list)
    #: A SIGHUP came while the worker was starting: it is sent once the worker is ready.
    reload_pending: bool = False


class Supervisor:
    """Starts `count` workers running `target(settings, link)`, restarts the ones that die,
    forwards SIGTERM/SIGINT/SIGHUP to them, and returns once all stopped after a signal."""

    def __init__(self, count: int, target: Callable[..., None], settings: Any,
                 announce: Callable[[], None], template: str) -> None:
        self._context = multiprocessing.get_context("forkserver")
        self._context.set_forkserver_preload([template])
        self._target = target
        self._settings = settings
        self._announce = announce
        self._slots = [_Slot(number) for number in range(count)]
        self._stopping = False
        #: The exit status when the workers could not start (None: they did).
        self._failed_start: int | None = None
        self._announced = False
        #: How the workers ended after the stop signal (earlier deaths were replaced).
        self._final_exits: list[int | None] = []

    def _start(self, slot: _Slot, *, replacement: bool) -> None:
        ours, theirs = self._context.Pipe(duplex=True)
        link = MasterLink(os.getpid(), theirs, replacement)
        process = self._context.Process(target=self._target, args=(self._settings, link),
                                        name=f"tth-worker-{slot.number}")
        try:
            process.start()
        except (EOFError, OSError) as exc:  # the template died (its traceback is in the log)
            ours.close()
            self._not_started(slot, exc)
            return
        finally:
            theirs.close()
        slot.process, slot.channel, slot.ready = process, ours, False
        slot.started, slot.restart_at = time.monotonic(), None

    def _not_started(self, slot: _Slot, exc: BaseException) -> None:
        """No worker came out of the template: before the first announcement the gateway
        stops (exit status 1); later the slot is tried again after a growing delay."""
        cause = str(exc) or type(exc).__name__
        if not self._announced:
            log.error("worker %d could not be started (the worker template failed: %s); "
                      "stopping", slot.number, cause)
            self._failed_start = 1
            self._forward(signal.SIGTERM, None)
            return
        _restart_later(slot, quick=True)
        log.error("worker %d could not be started (the worker template failed: %s); "
                  "trying again in %.0f s", slot.number, cause, slot.backoff)

    def _forward(self, signum: int, _frame: object) -> None:
        """Pass the signal on. A worker still starting has no SIGHUP handler yet (the
        default action would kill it): its reload waits until it says it is ready."""
        if signum in (signal.SIGTERM, signal.SIGINT):
            self._stopping = True
        for slot in self._slots:
            if signum == signal.SIGHUP and not slot.ready:
                slot.reload_pending = True
                continue
            self._signal(slot, signum)

    @staticmethod
    def _signal(slot: _Slot, signum: int) -> None:
        process = slot.process
        if process is not None and process.pid is not None and process.is_alive():
            os.kill(process.pid, signum)

    def run(self) -> int:
        for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            signal.signal(signum, self._forward)
        for slot in self._slots:
            if not self._stopping:
                self._start(slot, replacement=False)
        while any(slot.process is not None for slot in self._slots) or (
            not self._stopping and any(slot.restart_at is not None for slot in self._slots)
        ):
            self._wait_once()
            if not self._announced and all(slot.ready for slot in self._slots):
                self._announced = True
                self._announce()
            for slot in self._slots:
                self._reap(slot)
                self._restart_when_due(slot)
        if self._failed_start is not None:
            return self._failed_start
        failed = any(code not in (0, -signal.SIGTERM, -signal.SIGINT) for code in self._final_exits)
        return 1 if failed else 0

    def _wait_once(self) -> None:
        watched: list[Any] = []
        for slot in self._slots:
            if slot.process is not None:
                watched.append(slot.process.sentinel)
                if slot.channel is not None and not slot.ready:
                    watched.append(slot.channel)
        if not watched:  # only restarts waiting for their delay
            time.sleep(0.5)
            return
        for item in wait(watched, timeout=0.5):
            for slot in self._slots:
                if slot.channel is item:
                    self._read_ready(slot, item)

    @staticmethod
    def _read_ready(slot: _Slot, channel: Connection) -> None:
        try:
            slot.ready = channel.recv_bytes() == READY
        except (EOFError, OSError):
            slot.ready = False  # it died; its sentinel says so
            return
        if slot.ready and slot.reload_pending:
            slot.reload_pending = False
            Supervisor._signal(slot, signal.SIGHUP)
        if slot.exits:
            log.warning("worker %d (pid %s) replaced and listening", slot.number,
                        slot.process.pid if slot.process else "?")

    def _reap(self, slot: _Slot) -> None:
        process = slot.process
        if process is None or process.is_alive():
            return
        process.join()
        slot.exits.append(process.exitcode)
        if slot.channel is not None:
            slot.channel.close()
        slot.process, slot.channel, slot.ready = None, None, False
        directory = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
        if directory and process.pid is not None:
            multiprocess.mark_process_dead(process.pid, directory)  # type: ignore[no-untyped-call]
        if self._stopping:
            self._final_exits.append(process.exitcode)
            return
        if not self._announced:
            log.error("worker %d (pid %s) exited with %s before it was listening; stopping",
                      slot.number, process.pid, process.exitcode)
            self._failed_start = REFUSED_TO_START if process.exitcode == REFUSED_TO_START else 1
            self._forward(signal.SIGTERM, None)
            return
        _restart_later(slot, quick=time.monotonic() - slot.started < QUICK_DEATH)
        log.error("worker %d (pid %s) exited with %s; starting a replacement in %.0f s",
                  slot.number, process.pid, process.exitcode, slot.backoff)

    def _restart_when_due(self, slot: _Slot) -> None:
        if slot.restart_at is None or self._stopping:
            slot.restart_at = None if self._stopping else slot.restart_at
            return
        if time.monotonic() >= slot.restart_at:
            self._start(slot, replacement=True)
