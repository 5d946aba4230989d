"""Releasing a held message relays the original to a real upstream and records who did it."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest

from gateway.actions.release import ReleaseFailed, release_held
from gateway.config import UpstreamSettings
from gateway.outbound.upstream import SmtpUpstream
from gateway.quarantine.errors import HeldStateError
from gateway.quarantine.heldmeta import HoldStatus, ReleaseInfo, hold_request
from gateway.quarantine.local import QuarantineStore
from tests.support.samples import ENVELOPE, MESSAGE, classified_analysis, quarantine_verdict
from tests.support.sink import Sink, free_port

KEY = bytes(range(32))
AT = datetime(2026, 11, 25, 9, 45, tzinfo=UTC)


def held(tmp_path: Path) -> tuple[QuarantineStore, str]:
    store = QuarantineStore(tmp_path / "q", KEY)
    request = hold_request(ENVELOPE, quarantine_verdict(), classified_analysis())
    return store, store.hold(MESSAGE, request)


def release(store: QuarantineStore, held_id: str, address: str, by: str = "alice") -> None:
    settings = UpstreamSettings(address=address, starttls="off", timeout=5.0,
                                connect_timeout=2.0)

    async def run() -> None:
        upstream = SmtpUpstream(settings, "gw.test")
        try:
            await release_held(store, held_id, upstream, by=by, now=AT)
        finally:
            await upstream.close()

    asyncio.run(run())


def test_release_relays_the_original_and_records_it(sink: Sink, tmp_path: Path) -> None:
    store, held_id = held(tmp_path)
    release(store, held_id, sink.address)
    assert len(sink.messages) == 1
    got = sink.messages[0]
    assert got.mail_from == "b@thuathienhue.gov.vn"
    assert got.rcpt_tos == ["c@thuathienhue.gov.vn", "d@hue.gov.vn"]
    trace, _, rest = got.content.partition(b"\r\n")
    assert trace == (
        f"X-TTH-Released: {held_id}; by=alice; Wed, 25 Nov 2026 09:45:00 +0000".encode()
    )
    assert rest == MESSAGE
    assert "BODY=8BITMIME" in got.mail_options
    metadata = store.get(held_id)
    assert metadata.status is HoldStatus.RELEASED
    assert metadata.release is not None
    assert metadata.release.by == "alice"
    assert metadata.release.at == "2026-11-25T09:45:00+00:00"
    assert metadata.release.upstream_reply == "250 2.0.0 Ok: queued as Q1"
    assert metadata.release.recipients == ("c@thuathienhue.gov.vn", "d@hue.gov.vn")
    with pytest.raises(HeldStateError, match="released, not held"):
        release(store, held_id, sink.address)
    assert len(sink.messages) == 1


def test_a_temporary_refusal_leaves_it_held(sink: Sink, tmp_path: Path) -> None:
    store, held_id = held(tmp_path)
    sink.behaviour.data_reply = "451 4.3.0 Try later"
    with pytest.raises(ReleaseFailed, match=r"451 4\.3\.0 Try later") as failure:
        release(store, held_id, sink.address)
    assert failure.value.temporary
    assert store.get(held_id).status is HoldStatus.HELD
    sink.behaviour.data_reply = None
    release(store, held_id, sink.address)
    assert store.get(held_id).status is HoldStatus.RELEASED
    assert len(sink.messages) == 1


def test_a_recipient_refused_for_good_is_recorded(sink: Sink, tmp_path: Path) -> None:
    store, held_id = held(tmp_path)
    sink.behaviour.refuse_rcpt["d@hue.gov.vn"] = "550 5.1.1 No such user"
    release(store, held_id, sink.address)
    assert sink.messages[0].rcpt_tos == ["c@thuathienhue.gov.vn"]
    info = store.get(held_id).release
    assert info is not None
    assert info.recipients == ("c@thuathienhue.gov.vn",)
    assert info.refused == ("d@hue.gov.vn: 550 5.1.1 No such user",)


def test_every_recipient_refused_is_a_permanent_failure(sink: Sink, tmp_path: Path) -> None:
    store, held_id = held(tmp_path)
    sink.behaviour.refuse_rcpt.update({
        "c@thuathienhue.gov.vn": "550 5.1.1 No such user",
        "d@hue.gov.vn": "550 5.1.1 No such user",
    })
    with pytest.raises(ReleaseFailed, match="No such user") as failure:
        release(store, held_id, sink.address)
    assert not failure.value.temporary
    assert store.get(held_id).status is HoldStatus.HELD
    assert sink.messages == []


def test_an_unreachable_upstream_is_temporary(tmp_path: Path) -> None:
    store, held_id = held(tmp_path)
    with pytest.raises(ReleaseFailed, match="upstream unavailable") as failure:
        release(store, held_id, f"127.0.0.1:{free_port()}")
    assert failure.value.temporary
    assert store.get(held_id).status is HoldStatus.HELD


def test_a_hold_left_held_with_every_recipient_done_is_not_sent_again(
        sink: Sink, tmp_path: Path) -> None:
    """A record an earlier version left held after a 550 (it did not count the refusal)."""
    store, held_id = held(tmp_path)
    metadata = store.get(held_id)
    refusal = ReleaseInfo("alice", "2026-11-25T09:45:00+00:00", "250 2.0.0 Ok",
                          ("c@thuathienhue.gov.vn",), ("d@hue.gov.vn: 550 5.1.1 No such user",))
    store._write_metadata(replace(metadata, release=refusal, releases=(refusal,)))
    with pytest.raises(HeldStateError, match="no recipient left"):
        release(store, held_id, sink.address)
    assert sink.messages == []
