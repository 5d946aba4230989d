"""The analysis worker processes: results, a killed worker, a broken job, the time limit."""

from __future__ import annotations

import asyncio
import os
import signal
from pathlib import Path

import pytest

from gateway.analysis.model import Direction, Envelope
from gateway.analysis.pool import AnalysisFailed, AnalysisJob, AnalysisPool
from gateway.analysis.settings import AnalysisSettings

ENVELOPE = Envelope("a@gmail.com", ("b@sotttt.thuathienhue.gov.vn",))
MESSAGE = (b"From: a@gmail.com\r\nTo: b@sotttt.thuathienhue.gov.vn\r\n"
           b"Subject: [M\xe1\xba\xacT] Bao cao\r\n\r\n..dot-stuffed line\r\n")


def job(**changes: object) -> AnalysisJob:
    fields: dict[str, object] = {
        "envelope": ENVELOPE, "direction": Direction.INBOUND,
        "settings": AnalysisSettings(), "signatures": None, "message": MESSAGE,
    }
    return AnalysisJob(**{**fields, **changes})  # type: ignore[arg-type]


def run(coro: object) -> object:
    return asyncio.run(coro)  # type: ignore[arg-type]


def test_a_worker_analyses_the_unstuffed_message() -> None:
    async def scenario() -> tuple[str | None, int]:
        pool = AnalysisPool(1, 30)
        try:
            analysis = await pool.run(job())
        finally:
            await pool.close()
        level = analysis.classification.value if analysis.classification else None
        return level, analysis.size

    level, size = run(scenario())  # type: ignore[misc]
    assert level == "mat"
    assert size == len(MESSAGE) - 1


def test_a_spooled_message_is_read_from_its_path(tmp_path: Path) -> None:
    spooled = tmp_path / "spool"
    spooled.write_bytes(MESSAGE)

    async def scenario() -> str | None:
        pool = AnalysisPool(1, 30)
        try:
            analysis = await pool.run(job(message=None, path=spooled))
        finally:
            await pool.close()
        return analysis.headers.subject

    assert run(scenario()) == "[MẬT] Bao cao"


def test_a_killed_worker_fails_the_message_and_is_replaced() -> None:
    async def scenario() -> tuple[str, str | None]:
        pool = AnalysisPool(1, 30)
        await pool.warm_up()
        (worker,) = pool._idle
        try:
            os.kill(worker.process.pid, signal.SIGKILL)
            await worker.process.wait()
            with pytest.raises(AnalysisFailed, match="died") as failure:
                await pool.run(job())
            again = await pool.run(job())
        finally:
            await pool.close()
        return str(failure.value), again.headers.subject

    failed, subject = run(scenario())  # type: ignore[misc]
    assert "worker died" in failed
    assert subject == "[MẬT] Bao cao"


def test_an_error_in_the_worker_is_a_failure_not_a_pass(tmp_path: Path) -> None:
    async def scenario() -> None:
        pool = AnalysisPool(1, 30)
        try:
            await pool.run(job(message=None, path=tmp_path / "missing"))
        finally:
            await pool.close()

    with pytest.raises(AnalysisFailed, match="FileNotFoundError"):
        run(scenario())
