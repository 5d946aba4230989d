"""The analysis context (settings, signature setup) goes to a child once, not with every job."""

from __future__ import annotations

import asyncio
import pickle
from pathlib import Path

import pytest

from gateway.analysis.child import _answer, _Jobs
from gateway.analysis.pool import AnalysisFailed, AnalysisJob, AnalysisPool, JobFrame
from gateway.analysis.settings import AnalysisSettings, ClassificationSpec

MESSAGE = (b"From: a@gmail.com\r\nTo: b@sotttt.thuathienhue.gov.vn\r\n"
           b"Subject: [M\xe1\xba\xacT] Bao cao\r\n\r\nNoi dung.\r\n")
#: The default settings find MẬT in the subject; these also find TỐI MẬT in "Bao cao".
STRICTER = AnalysisSettings(classification=ClassificationSpec(
    extra_patterns={"toi_mat": ("Bao cao",)}))


class Unloadable:
    """Pickles, but raises when unpickled: a frame the child cannot read."""

    def __reduce__(self) -> tuple[type, tuple[str]]:
        return (int, ("not a number",))


def level(analysis: object) -> str | None:
    classification = getattr(analysis, "classification", None)
    return classification.value if classification else None


def test_each_job_is_judged_under_its_own_settings_as_they_alternate() -> None:
    settings = [AnalysisSettings(), AnalysisSettings(), STRICTER, STRICTER, AnalysisSettings()]

    async def scenario() -> list[str | None]:
        pool = AnalysisPool(1, 30)
        try:
            return [level(await pool.run(AnalysisJob(each, None, MESSAGE))) for each in settings]
        finally:
            await pool.close()

    assert asyncio.run(scenario()) == ["mat", "mat", "toi_mat", "toi_mat", "mat"]


def test_equal_settings_built_anew_are_not_sent_again() -> None:
    async def scenario() -> tuple[JobFrame, JobFrame]:
        pool = AnalysisPool(1, 30)
        try:
            await pool.run(AnalysisJob(AnalysisSettings(), None, MESSAGE))
            (worker,) = pool._idle
            same = worker.frame(AnalysisJob(AnalysisSettings(), None, MESSAGE))
            other = worker.frame(AnalysisJob(STRICTER, None, MESSAGE))
        finally:
            await pool.close()
        return pickle.loads(same), pickle.loads(other)

    same, other = asyncio.run(scenario())
    assert same.context is None
    assert other.context == (STRICTER, None)


def test_a_job_the_child_could_not_read_leaves_the_context_to_be_sent_again() -> None:
    """The child never took in the failed job's settings: the next job carries them."""
    async def scenario() -> tuple[str | None, str | None]:
        pool = AnalysisPool(1, 30)
        try:
            before = level(await pool.run(AnalysisJob(AnalysisSettings(), None, MESSAGE)))
            unreadable = AnalysisJob(STRICTER, None, Unloadable())  # type: ignore[arg-type]
            try:
                await pool.run(unreadable)
            except AnalysisFailed as exc:
                assert "not a number" in str(exc)
            else:
                raise AssertionError("an unreadable job was analysed")
            after = level(await pool.run(AnalysisJob(STRICTER, None, MESSAGE)))
        finally:
            await pool.close()
        return before, after

    assert asyncio.run(scenario()) == ("mat", "toi_mat")


def test_a_job_that_failed_under_new_settings_leaves_the_old_ones_to_be_sent_again(
    tmp_path: Path,
) -> None:
    """The child took in the failed job's settings before failing (its message is gone):
    the next job under the settings before carries them again."""
    async def scenario() -> list[str | None]:
        pool = AnalysisPool(1, 30)
        try:
            before = level(await pool.run(AnalysisJob(AnalysisSettings(), None, MESSAGE)))
            with pytest.raises(AnalysisFailed, match="FileNotFoundError"):
                await pool.run(AnalysisJob(STRICTER, None, path=tmp_path / "gone"))
            after = level(await pool.run(AnalysisJob(AnalysisSettings(), None, MESSAGE)))
        finally:
            await pool.close()
        return [before, after]

    assert asyncio.run(scenario()) == ["mat", "mat"]


def test_a_child_refuses_a_job_without_a_context_when_none_was_sent() -> None:
    status, detail = _answer(pickle.dumps(JobFrame(None, MESSAGE, None)), _Jobs())
    assert status == "error"
    assert "without a context" in str(detail)
