"""The handler's view of the quarantine: hold and notices in one durable step, then the
notice queue delivers them to a real upstream, retrying (across restarts) until it can."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from email import message_from_bytes
from email.policy import default
from pathlib import Path

import pytest
from prometheus_client import REGISTRY

from gateway.actions.holding import QuarantineHolding
from gateway.config import Settings
from gateway.deciding.seam import MessageDecision
from gateway.mail.spool import Spool
from gateway.outbound.upstreams import upstream_for
from gateway.quarantine.interface import NoticeBatch, Store
from gateway.quarantine.local import QuarantineStore
from tests.support.running import LoopThread
from tests.support.samples import (
    ENVELOPE,
    MESSAGE,
    SECRET_TEXT,
    classified_analysis,
    quarantine_verdict,
)
from tests.support.sink import Sink, free_port

OFFICER = "baomat@thuathienhue.gov.vn"
TOLD = sorted(["b@thuathienhue.gov.vn", OFFICER])


def settings_for(upstream: str, tmp_path: Path, **quarantine: object) -> Settings:
    return Settings.model_validate({
        "upstream": {"address": upstream, "starttls": "off", "timeout": 5.0,
                     "connect_timeout": 2.0},
        "quarantine": {"path": str(tmp_path / "q"), **quarantine},
        "notices": {"retry_initial": 0.2, "retry_max": 0.5, "poll_interval": 0.2},
        "audit": {"path": str(tmp_path / "audit.jsonl")},
    }, strict=False)


@contextmanager
def serving(settings: Settings) -> Iterator[tuple[LoopThread, QuarantineHolding]]:
    """A holding with its background tasks on a real event loop, as the gateway runs it."""
    loop = LoopThread()

    async def start() -> QuarantineHolding:
        holding = QuarantineHolding(settings, upstream_for(settings.upstream, "gw.test"))
        holding.start()
        return holding

    holding = loop.run(start())
    try:
        yield loop, holding
    finally:
        loop.run(holding.drain())
        loop.run(holding.outbox.upstream.close())
        loop.close()


def hold(loop: LoopThread, holding: QuarantineHolding) -> str:
    decision = MessageDecision(quarantine_verdict("sender", "security_officer"),
                               classified_analysis(), security_officer=OFFICER)
    spool = Spool(threshold=1 << 20)
    spool.write(MESSAGE.replace(b"\r\n.", b"\r\n.."))

    async def run() -> str:
        reference = await holding.hold(spool, ENVELOPE, decision, "S1.T1")
        holding.notify(reference, ENVELOPE, decision)
        return reference

    return loop.run(run())


def told(sink: Sink, count: int, seconds: float = 20.0) -> list[str]:
    deadline = time.monotonic() + seconds
    while len(sink.messages) < count and time.monotonic() < deadline:
        time.sleep(0.05)
    return sorted(r for m in sink.messages for r in m.rcpt_tos)


def metric(name: str, labels: dict[str, str] | None = None) -> float:
    return REGISTRY.get_sample_value(name, labels or {}) or 0.0


def pending(store: Store) -> int:
    return store.notice_counts().pending


def test_held_message_is_on_disk_and_both_are_told(sink: Sink, tmp_path: Path) -> None:
    with serving(settings_for(sink.address, tmp_path)) as (loop, holding):
        reference = hold(loop, holding)
        assert told(sink, 2) == TOLD
        assert holding.store.read_message(reference) == MESSAGE
        assert holding.store.get(reference).session == "S1.T1"
    for received in sink.messages:
        assert received.mail_from == "<>"
        notice = message_from_bytes(received.content, policy=default)
        assert notice["X-TTH-Notice"] == reference
        assert notice["Auto-Submitted"] == "auto-generated"
        text = notice.get_body().get_content()  # type: ignore[union-attr]
        assert reference in text
        assert SECRET_TEXT not in text


def test_notices_wait_for_the_upstream_then_are_delivered(tmp_path: Path) -> None:
    port = free_port()
    settings = settings_for(f"127.0.0.1:{port}", tmp_path)
    retries = metric("tth_notices_total", {"outcome": "retry"})
    with serving(settings) as (loop, holding):
        reference = hold(loop, holding)
        deadline = time.monotonic() + 20
        while metric("tth_notices_total", {"outcome": "retry"}) < retries + 2 \
                and time.monotonic() < deadline:
            time.sleep(0.05)
        assert metric("tth_notices_total", {"outcome": "retry"}) >= retries + 2
        assert pending(holding.store) == 2
        assert metric("tth_notices_pending") == 2
        sink = Sink(port=port)
        sink.start()
        try:
            assert told(sink, 2) == TOLD
        finally:
            sink.stop()
        assert holding.store.read_message(reference) == MESSAGE
        deadline = time.monotonic() + 10
        while pending(holding.store) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert pending(holding.store) == 0


def test_notices_queued_before_a_restart_are_delivered_after_it(tmp_path: Path) -> None:
    port = free_port()
    settings = settings_for(f"127.0.0.1:{port}", tmp_path)
    with serving(settings) as (loop, holding):
        hold(loop, holding)
        assert pending(holding.store) == 2
    sink = Sink(port=port)
    sink.start()
    try:
        with serving(settings) as (_, holding):
            assert told(sink, 2) == TOLD
        assert len(sink.messages) == 2
    finally:
        sink.stop()


def test_a_notice_that_never_goes_expires_and_is_counted(tmp_path: Path) -> None:
    settings = settings_for(f"127.0.0.1:{free_port()}", tmp_path)
    settings = settings.model_copy(update={"notices": settings.notices.model_copy(
        update={"expire_after": 0.5})})
    expired = metric("tth_notices_total", {"outcome": "expired"})
    with serving(settings) as (loop, holding):
        reference = hold(loop, holding)
        deadline = time.monotonic() + 20
        while holding.store.notice_counts().expired < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert holding.store.notice_counts().expired == 2
        assert pending(holding.store) == 0
        assert metric("tth_notices_total", {"outcome": "expired"}) == expired + 2
        assert holding.store.read_message(reference) == MESSAGE


def test_two_workers_sharing_the_folder_send_each_notice_once(sink: Sink,
                                                              tmp_path: Path) -> None:
    settings = settings_for(sink.address, tmp_path)
    with serving(settings) as (loop, first), serving(settings) as (_, second):
        for _ in range(5):
            hold(loop, first)
            second.outbox.wake()
        assert len(told(sink, 10)) == 10
        time.sleep(1.0)
    assert len(sink.messages) == 10


def test_stopping_while_a_claim_is_in_flight_leaves_no_lock_behind(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = settings_for(f"127.0.0.1:{free_port()}", tmp_path)
    started = threading.Event()
    with serving(settings) as (loop, holding):
        hold(loop, holding)
        loop.run(holding.outbox.stop())
        store = holding.store
        claim = store.claim_notices

        def slow_claim(now: datetime, limit: int) -> NoticeBatch:
            started.set()
            time.sleep(0.5)  # the stop arrives while the claim holds the lock
            return claim(now, limit)

        monkeypatch.setattr(store, "claim_notices", slow_claim)
        loop.run(start_outbox(holding))
        assert started.wait(20)
        loop.run(holding.outbox.stop())
    other = QuarantineStore(tmp_path / "q").claim_notices(datetime.now(UTC), 10)
    try:
        assert len(other.notices) == 2
    finally:
        other.close()


async def start_outbox(holding: QuarantineHolding) -> None:
    holding.outbox.start()
