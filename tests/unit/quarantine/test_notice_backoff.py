"""A failed notice is retried later and later (doubling, capped), then given up."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from gateway.config import NoticeSettings
from gateway.quarantine.interface import QueuedNotice
from gateway.quarantine.outbox import retry_time

HELD = datetime(2026, 12, 4, 8, 0, tzinfo=UTC)
SETTINGS = NoticeSettings(retry_initial=30, retry_max=3600, expire_after=86400)


def notice(attempts: int) -> QueuedNotice:
    return QueuedNotice("1", "id", ("a@x.vn",), b"", attempts, HELD)


def test_the_delay_doubles_up_to_the_cap() -> None:
    now = HELD + timedelta(minutes=1)
    delays = [(retry_time(notice(n), now, SETTINGS) or now) - now for n in range(10)]
    assert [d.total_seconds() for d in delays] == [30, 60, 120, 240, 480, 960, 1920, 3600,
                                                   3600, 3600]


def test_a_notice_expires_once_its_next_try_would_be_too_late() -> None:
    assert retry_time(notice(3), HELD + timedelta(hours=23), SETTINGS) is not None
    assert retry_time(notice(9), HELD + timedelta(hours=23, minutes=30), SETTINGS) is None
