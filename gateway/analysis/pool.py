"""Analysis off the event loop: a process pool with a time limit per message.

PDF parsing and signature validation are CPU-bound; they run in worker
processes so that one heavy message never stalls the other connections. A
message that runs out of time, or a worker that dies, fails closed: the
caller gets an exception and the SMTP layer answers with a 4xx.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from pathlib import Path

from gateway import metrics
from gateway.analysis.model import Analysis, Direction, Envelope
from gateway.analysis.settings import AnalysisSettings
from gateway.analysis.worker import SignatureSetup, run_analysis
from gateway.smtp.spool import unstuff

log = logging.getLogger("gateway.analysis.pool")


class AnalysisFailed(RuntimeError):
    """The analysis did not finish (time limit, dead worker): the message must not pass."""


@dataclass(frozen=True, slots=True)
class AnalysisJob:
    """What a worker needs: the message as received on the wire (still dot-stuffed), in
    bytes or as the path of its spool file, and the context to judge it in."""

    envelope: Envelope
    direction: Direction
    settings: AnalysisSettings
    signatures: SignatureSetup | None
    message: bytes | None = None
    path: Path | None = None


def analyse_job(job: AnalysisJob) -> Analysis:
    """Entry point in the worker process (top level, so it pickles)."""
    wire = job.message if job.message is not None else _read(job.path)
    return run_analysis(unstuff(wire), job.envelope, job.direction, job.settings, job.signatures)


def _read(path: Path | None) -> bytes:
    if path is None:
        raise ValueError("analysis job without a message")
    return path.read_bytes()


class AnalysisPool:
    """Worker processes (spawned, so no lock or thread is inherited) and the time limit."""

    def __init__(self, workers: int, time_limit: float) -> None:
        self.workers = workers
        self.time_limit = time_limit
        self._executor = self._new_executor()

    def _new_executor(self) -> ProcessPoolExecutor:
        return ProcessPoolExecutor(
            max_workers=self.workers, mp_context=multiprocessing.get_context("spawn")
        )

    async def warm_up(self) -> None:
        """Start the workers now, so the first message does not pay for the imports."""
        loop = asyncio.get_running_loop()
        await asyncio.gather(
            *(loop.run_in_executor(self._executor, _ready) for _ in range(self.workers))
        )

    async def run(self, job: AnalysisJob) -> Analysis:
        loop = asyncio.get_running_loop()
        executor = self._executor
        future = loop.run_in_executor(executor, analyse_job, job)
        with metrics.ANALYSIS_TIME.time():
            try:
                return await asyncio.wait_for(future, self.time_limit)
            except TimeoutError:
                metrics.ANALYSIS_TIMEOUTS.inc()
                self._replace(executor, "time limit")
                raise AnalysisFailed(f"analysis exceeded {self.time_limit:g} s") from None
            except BrokenProcessPool:
                self._replace(executor, "worker died")
                raise AnalysisFailed("analysis worker died") from None

    def _replace(self, executor: ProcessPoolExecutor, why: str) -> None:
        """Kill the workers of `executor` (one may be stuck) and start afresh."""
        if executor is not self._executor:
            return
        log.error("restarting the analysis workers: %s", why)
        self._executor = self._new_executor()
        _kill(executor)

    def close(self) -> None:
        _kill(self._executor)


def _kill(executor: ProcessPoolExecutor) -> None:
    processes = list((executor._processes or {}).values())
    executor.shutdown(wait=False, cancel_futures=True)
    for process in processes:
        if process.is_alive():
            process.kill()


def _ready() -> bool:
    import gateway.analysis.worker  # noqa: F401  (imports the heavy libraries once)

    return True
