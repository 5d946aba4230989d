"""The analysis worker processes: results, a killed worker, a broken job, the time limit."""

from __future__ import annotations

import asyncio
import os
import signal
from pathlib import Path

import pytest

from gateway.analysis.model import Analysis
from gateway.analysis.pool import (
    AnalysisBusy,
    AnalysisFailed,
    AnalysisJob,
    AnalysisPool,
    Unanalysable,
)
from gateway.analysis.settings import AnalysisLimits, AnalysisSettings
from gateway.signatures.settings import SignatureSettings
from gateway.signatures.setup import SignatureSetup
from gateway.signatures.trust import TrustSources
from tests.fixtures.documents import Attachment, message, to_bytes
from tests.fixtures.scans import scanned_official_pdf
from tests.fixtures.signed import pki_at, signed_pdf

MESSAGE = (b"From: a@gmail.com\r\nTo: b@sotttt.thuathienhue.gov.vn\r\n"
           b"Subject: [M\xe1\xba\xacT] Bao cao\r\n\r\n..dot-stuffed line\r\n")


def job(**changes: object) -> AnalysisJob:
    fields: dict[str, object] = {
        "settings": AnalysisSettings(), "signatures": None, "message": MESSAGE,
    }
    return AnalysisJob(**{**fields, **changes})  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def heavy(tmp_path_factory: pytest.TempPathFactory) -> AnalysisJob:
    """A message whose analysis takes a worker well over a second: sixty distinct signed
    PDFs, each validated against the fixture trust store (tens of milliseconds each)."""
    pki = pki_at(tmp_path_factory.mktemp("pool-pki"))
    pdfs = [Attachment(f"giay-moi-{i}.pdf", signed_pdf(pki, "valid", noise_bytes=1000 * i))
            for i in range(60)]
    setup = SignatureSetup(TrustSources(pki.anchors, pki.intermediates, pki.crls), "test",
                           SignatureSettings())
    return job(message=to_bytes(message(attachments=pdfs)), signatures=setup)


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


def test_a_worker_keeps_its_ocr_engine_between_messages() -> None:
    """The child owns one OCR engine: a scan it read is read again from its cache, free of
    the next message's budget (other limits: the text cache does not hold it)."""
    scan = to_bytes(message(attachments=[Attachment("scan0001.pdf", scanned_official_pdf())]))
    patient = AnalysisLimits(document_seconds=120.0)

    async def scenario() -> list[Analysis]:
        pool = AnalysisPool(1, 300)
        try:
            return [await pool.run(job(message=scan, settings=AnalysisSettings(limits=limits)))
                    for limits in (patient, AnalysisLimits(document_seconds=120.0,
                                                           ocr_message_pages=0))]
        finally:
            await pool.close()

    first, again = run(scenario())  # type: ignore[misc]
    assert first.documents[1].uninspectable is None
    assert again.documents[1].uninspectable is None  # no page left to OCR: from the cache
    assert first.documents[1].official_number == again.documents[1].official_number


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


def test_a_worker_killed_while_idle_is_replaced_before_the_next_message() -> None:
    async def scenario() -> tuple[int, int, str | None]:
        pool = AnalysisPool(1, 30)
        await pool.warm_up()
        (worker,) = pool._idle
        try:
            os.kill(worker.process.pid, signal.SIGKILL)
            await worker.process.wait()
            analysis = await pool.run(job())
            (replacement,) = pool._idle
        finally:
            await pool.close()
        return worker.process.pid, replacement.process.pid, analysis.headers.subject

    killed, replacement, subject = run(scenario())  # type: ignore[misc]
    assert replacement != killed
    assert subject == "[MẬT] Bao cao"


@pytest.mark.parametrize(("victim", "expected", "detail"), [
    ("child", Unanalysable, "died on this message"),
    ("zygote", AnalysisBusy, "lost with its zygote"),
])
def test_a_worker_killed_during_the_analysis(
    heavy: AnalysisJob, victim: str, expected: type[AnalysisFailed], detail: str,
) -> None:
    """The child reading a message dies: the message killed it, so it is unanalysable (and
    remembered). Its zygote dies, and the child with it: not the message's doing, so it is
    answered busy (4xx, retried). Either way the next message gets a fresh child."""

    async def scenario() -> tuple[AnalysisFailed, str | None]:
        pool = AnalysisPool(1, 120)
        await pool.warm_up()
        (worker,) = pool._idle
        try:
            running = asyncio.create_task(pool.run(heavy))
            while pool._idle:
                await asyncio.sleep(0.01)
            target = worker.process.pid if victim == "child" else pool._zygote.pid
            assert target is not None
            os.kill(target, signal.SIGKILL)
            with pytest.raises(AnalysisFailed) as failure:
                await running
            again = await pool.run(job())
        finally:
            await pool.close()
        return failure.value, again.headers.subject

    failure, subject = run(scenario())  # type: ignore[misc]
    assert type(failure) is expected, repr(failure)
    assert detail in str(failure)
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


def test_a_message_over_the_time_limit_is_unanalysable_and_its_worker_replaced(
    heavy: AnalysisJob,
) -> None:
    async def scenario() -> tuple[str, str, str | None]:
        pool = AnalysisPool(1, 0.2)
        await pool.warm_up()
        try:
            with pytest.raises(Unanalysable) as failure:
                await pool.run(heavy)
            pool.time_limit = 30
            again = await pool.run(job())
        finally:
            await pool.close()
        return failure.value.cause, str(failure.value), again.headers.subject

    cause, detail, subject = run(scenario())  # type: ignore[misc]
    assert cause == "timeout"
    assert "exceeded 0.2 s" in detail
    assert subject == "[MẬT] Bao cao"


def test_the_queue_is_bounded_and_the_wait_counts_in_the_time_limit(heavy: AnalysisJob) -> None:
    """One worker busy with a slow message; one message may wait (max_queue 1), the next
    is refused at once; the waiting one gets at most half of the limit, then busy."""

    async def scenario() -> list[BaseException | object]:
        pool = AnalysisPool(1, 0.2, max_queue=1)
        await pool.warm_up()
        try:
            return await asyncio.gather(pool.run(heavy), pool.run(job()), pool.run(job()),
                                        return_exceptions=True)
        finally:
            await pool.close()

    slow, waiting, refused = run(scenario())  # type: ignore[misc]
    assert isinstance(slow, Unanalysable) and slow.cause == "timeout", repr(slow)
    assert isinstance(waiting, AnalysisBusy)
    assert "no analysis worker free within 0.1 s" in str(waiting)
    assert isinstance(refused, AnalysisBusy)
    assert "queue full (1 messages waiting)" in str(refused)


def test_worker_memory_is_capped(tmp_path: Path) -> None:
    """RLIMIT_AS in each worker: a message that needs more memory is unanalysable (not
    a worker growing without bound); the next message gets a fresh worker."""
    big = to_bytes(message(attachments=[
        Attachment("du-lieu.bin", os.urandom(30_000_000), "application/octet-stream")]))

    async def scenario() -> tuple[str, str, str | None]:
        pool = AnalysisPool(1, 120, memory_limit_mb=250)
        await pool.warm_up()
        try:
            (worker,) = pool._idle
            limits = Path(f"/proc/{worker.process.pid}/limits").read_text()
            with pytest.raises(Unanalysable) as failure:
                await pool.run(job(message=big))
            again = await pool.run(job())
        finally:
            await pool.close()
        return limits, failure.value.cause, again.headers.subject

    limits, cause, subject = run(scenario())  # type: ignore[misc]
    (line,) = [line for line in limits.splitlines() if line.startswith("Max address space")]
    assert line.split()[3:5] == [str(250 * 1024 * 1024)] * 2
    assert cause == "memory"
    assert subject == "[MẬT] Bao cao"
