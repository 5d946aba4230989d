"""Analysis off the event loop: worker processes with a time limit per message.

PDF parsing and signature validation are CPU-bound; they run in worker
processes so that one heavy message never stalls the other connections. Each
worker is a child forked by this pool's zygote (`gateway.analysis.zygote`, which
imported the analysis once, so the children share its pages) that reads pickled
jobs on a socket and writes pickled results back; the event loop talks to it
through asyncio streams, so no helper thread competes with the loop for the GIL.

Analysis cannot be used to stall the gateway: at most `max_queue` messages wait
for a worker, each waits at most half of `time_limit`, and the whole (wait and
analysis) never exceeds `time_limit`. Each worker's address space is capped
(`memory_limit_mb`, RLIMIT_AS). Everything fails closed: a message that finds no
worker in time gets `AnalysisBusy` (try again later), one whose own analysis runs
out of time or memory, or kills its worker, gets `Unanalysable` (the policy's
declared outcome); the worker is killed and replaced.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import pickle
import struct
from dataclasses import dataclass
from pathlib import Path

from gateway.analysis.extract.ocr import OcrEngine
from gateway.analysis.forked import ForkedChild, Zygote
from gateway.analysis.model import Analysis
from gateway.analysis.readings import ReadingCache
from gateway.analysis.settings import AnalysisSettings
from gateway.analysis.worker import run_analysis
from gateway.mail.spool import unstuff
from gateway.record import metrics
from gateway.signatures.setup import CheckerCache, SignatureSetup

log = logging.getLogger("gateway.analysis.pool")

#: Frames on the pipes: a 4-byte big-endian length, then a pickle.
FRAME = struct.Struct(">I")
#: Seconds a new worker may take to import its libraries and answer a ping.
STARTUP_LIMIT = 120.0


class AnalysisFailed(RuntimeError):
    """The analysis did not finish (time limit, dead worker, error): the message must not pass."""


class AnalysisBusy(AnalysisFailed):
    """No worker was free in time, or the queue is full: the gateway is loaded, not the
    message at fault (a 4xx; the sender tries again later)."""


class Unanalysable(AnalysisFailed):
    """The message's own analysis ran out of time or memory, or killed its worker: it
    would again, so the policy's `unanalysable` outcome applies (and is remembered).
    `cause` is "timeout", "memory" or "crash"."""

    def __init__(self, cause: str, detail: str) -> None:
        super().__init__(detail)
        self.cause = cause


@dataclass(frozen=True, slots=True)
class AnalysisJob:
    """What a worker needs: the message as received on the wire (still dot-stuffed), in
    bytes or as the path of its spool file, the analysis settings and the signature setup.
    Nothing of the envelope: the analysis says what the message contains, the policy
    judges it with its envelope."""

    settings: AnalysisSettings
    signatures: SignatureSetup | None
    message: bytes | None = None
    path: Path | None = None


Context = tuple[AnalysisSettings, SignatureSetup | None]


@dataclass(frozen=True, slots=True)
class JobFrame:
    """A job as sent to a child: its context (settings and signature setup) only when it
    is not the one the child was last sent and answered under; pickling the context cost
    more than a small message's analysis."""

    context: Context | None
    message: bytes | None
    path: Path | None


def analyse_job(job: AnalysisJob, checkers: CheckerCache, readings: ReadingCache | None = None,
                *, plain_only: bool = False, ocr: OcrEngine | None = None) -> Analysis:
    """Run one job (in a worker process, or in-process for `check` and for small text
    messages: `plain_only`, see `gateway.analysis.walk.NotPlainText`), with that process's
    checkers, the readings of the documents it read before and its OCR engine."""
    wire = job.message if job.message is not None else _read(job.path)
    return run_analysis(unstuff(wire), job.settings, job.signatures, checkers, readings,
                        plain_only=plain_only, ocr=ocr)


def _read(path: Path | None) -> bytes:
    if path is None:
        raise ValueError("analysis job without a message")
    return path.read_bytes()


class _Worker:
    """One analysis child and its socket; used by one job at a time."""

    def __init__(self, process: ForkedChild) -> None:
        self.process = process
        self.context: Context | None = None  # the one the child answered under last

    def frame(self, job: AnalysisJob) -> bytes:
        """The pickled `JobFrame` of `job`, without its context when the child holds it."""
        context = (job.settings, job.signatures)
        frame = JobFrame(None if self.context == context else context, job.message, job.path)
        return pickle.dumps(frame, protocol=pickle.HIGHEST_PROTOCOL)

    def answered(self, job: AnalysisJob, status: str) -> None:
        """After an answer: the child holds the job's context if it says "ok"; after any
        other answer it stays unknown (the error may have come before the child took the
        context in)."""
        if status == "ok":
            self.context = (job.settings, job.signatures)

    async def call(self, payload: bytes) -> tuple[str, object]:
        """Send one framed pickle, read one back: ("ok", value) or ("error", text)."""
        self.process.writer.write(FRAME.pack(len(payload)) + payload)
        await self.process.writer.drain()
        (size,) = FRAME.unpack(await self.process.reader.readexactly(FRAME.size))
        answer: tuple[str, object] = pickle.loads(await self.process.reader.readexactly(size))
        return answer

    async def stop(self) -> None:
        await self.process.stop()


class AnalysisPool:
    """Up to `workers` child processes, started on demand and replaced when they fail."""

    def __init__(self, workers: int, time_limit: float, *, max_queue: int = 100,
                 memory_limit_mb: int = 0) -> None:
        self.workers = workers
        self.time_limit = time_limit
        self.max_queue = max_queue
        self.memory_limit_mb = memory_limit_mb
        self._waiting = 0
        self._idle: list[_Worker] = []
        self._replacing: set[asyncio.Task[None]] = set()
        self._available: asyncio.Semaphore | None = None
        self._closed = False
        self._zygote = Zygote(STARTUP_LIMIT)

    def _slots(self) -> asyncio.Semaphore:
        if self._available is None:
            self._available = asyncio.Semaphore(self.workers)
        return self._available

    async def warm_up(self) -> None:
        """Start every worker now, so that the first messages do not wait for the imports."""
        for _ in range(self.workers - len(self._idle)):
            await self._give_back(await self._ready_worker(), healthy=True)

    async def _ready_worker(self) -> _Worker:
        """A new worker that has answered a ping (its libraries imported)."""
        try:
            worker = _Worker(await self._zygote.fork(self.memory_limit_mb))
        except OSError as exc:
            raise AnalysisFailed(f"analysis worker could not start: {exc}") from None
        try:
            status, _ = await asyncio.wait_for(worker.call(pickle.dumps(None)), STARTUP_LIMIT)
        except (OSError, asyncio.IncompleteReadError, pickle.UnpicklingError):
            status = "dead"
        except BaseException:
            await worker.stop()
            raise
        if status != "ok":
            await worker.stop()
            raise AnalysisFailed("analysis worker could not start")
        return worker

    async def run(self, job: AnalysisJob) -> Analysis:
        started = asyncio.get_running_loop().time()
        await self._slot()
        try:
            worker = await self._take()
            waited = asyncio.get_running_loop().time() - started
            in_sync = False
            try:
                with metrics.ANALYSIS_TIME.time():
                    status, value = await self._call(worker, job, waited)
                in_sync = status != "memory"  # a worker that ran out of memory is replaced
            finally:
                await self._give_back(worker, in_sync)
        finally:
            self._slots().release()
        if status == "memory":
            raise Unanalysable("memory", f"analysis ran out of memory "
                                         f"({self.memory_limit_mb} MB per worker): {value}")
        if status != "ok" or not isinstance(value, Analysis):
            raise AnalysisFailed(f"analysis error: {value}")
        return value

    async def _slot(self) -> None:
        """Take a worker slot, waiting at most half the time limit, behind at most
        `max_queue` others."""
        slots = self._slots()
        if slots.locked() and self._waiting >= self.max_queue:
            metrics.ANALYSIS_BUSY.inc()
            raise AnalysisBusy(f"analysis queue full ({self.max_queue} messages waiting)")
        self._waiting += 1
        acquired = False
        wait = self.time_limit / 2
        try:
            async with asyncio.timeout(wait):
                await slots.acquire()
                acquired = True
        except TimeoutError:
            if not acquired:
                metrics.ANALYSIS_BUSY.inc()
                raise AnalysisBusy(f"no analysis worker free within {wait:g} s") from None
        finally:
            self._waiting -= 1

    async def _call(self, worker: _Worker, job: AnalysisJob, waited: float) -> tuple[str, object]:
        """The worker's answer within what is left of the time limit; raises when the worker
        overran or died (it is then out of step with its pipes and must go)."""
        payload = worker.frame(job)
        worker.context = None  # until the child has answered under the job's context
        try:
            answer = await asyncio.wait_for(worker.call(payload), self.time_limit - waited)
            worker.answered(job, answer[0])
            return answer
        except TimeoutError:
            metrics.ANALYSIS_TIMEOUTS.inc()
            detail = f"analysis exceeded {self.time_limit:g} s (of which {waited:.1f} s waiting)"
            raise Unanalysable("timeout", detail) from None
        except (OSError, asyncio.IncompleteReadError, pickle.UnpicklingError) as exc:
            if self._zygote.gone():  # not this message's doing: the sender tries again
                raise AnalysisBusy("analysis worker lost with its zygote") from None
            detail = f"analysis worker died on this message: {exc!r}"
            raise Unanalysable("crash", detail) from None

    async def _take(self) -> _Worker:
        """An idle worker that is still alive, or a new one; starting one is not counted in
        the time limit."""
        while self._idle:
            worker = self._idle.pop()
            if worker.process.alive:
                return worker
            log.error("analysis worker %s had died while idle; replaced", worker.process.pid)
            await worker.stop()
        return await self._ready_worker()

    async def _give_back(self, worker: _Worker, healthy: bool) -> None:
        """Keep a healthy worker; kill one that failed or overran (it may be stuck) and
        start its replacement in the background."""
        alive = worker.process.alive
        if healthy and alive and not self._closed and len(self._idle) < self.workers:
            self._idle.append(worker)
            return
        if not healthy:
            log.error("analysis worker %s stopped after a failure", worker.process.pid)
        await worker.stop()
        if not healthy and not self._closed:
            task = asyncio.get_running_loop().create_task(self._replace())
            self._replacing.add(task)
            task.add_done_callback(self._replacing.discard)

    async def _replace(self) -> None:
        try:
            worker = await self._ready_worker()
        except AnalysisFailed:
            log.error("analysis worker replacement failed; next message starts one")
            return
        await self._give_back(worker, healthy=True)

    async def close(self) -> None:
        self._closed = True
        for task in list(self._replacing):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, AnalysisFailed):
                await task
        idle, self._idle = self._idle, []
        for worker in idle:
            await worker.stop()
        await self._zygote.close()
