"""The handler's view of the quarantine: hold durably, then notices to a real upstream."""

from __future__ import annotations

import asyncio
from email import message_from_bytes
from email.policy import default
from pathlib import Path

from prometheus_client import REGISTRY

from gateway.actions.holding import QuarantineHolding
from gateway.actions.upstreams import upstream_for
from gateway.config import Settings
from gateway.pipeline import MessageDecision
from gateway.smtp.spool import Spool
from tests.support.sink import Sink, free_port
from tests.unit.actions.samples import (
    ENVELOPE,
    MESSAGE,
    SECRET_TEXT,
    classified_analysis,
    quarantine_verdict,
)

OFFICER = "baomat@thuathienhue.gov.vn"


def settings_for(upstream: str, tmp_path: Path) -> Settings:
    return Settings.model_validate({
        "upstream": {"address": upstream, "starttls": "off", "timeout": 5.0,
                     "connect_timeout": 2.0},
        "quarantine": {"path": str(tmp_path / "q")},
        "notices": {"security_officer": OFFICER},
    }, strict=False)


def hold_and_notify(settings: Settings) -> tuple[QuarantineHolding, str]:
    decision = MessageDecision(quarantine_verdict(), classified_analysis())
    spool = Spool(threshold=1 << 20)
    spool.write(MESSAGE.replace(b"\r\n.", b"\r\n.."))

    async def run() -> tuple[QuarantineHolding, str]:
        upstream = upstream_for(settings.upstream, "gw.test")
        holding = QuarantineHolding(settings, upstream)
        reference = await holding.hold(spool, ENVELOPE, decision, "S1.T1")
        holding.notify(reference, ENVELOPE, decision)
        await holding.drain()
        await upstream.close()
        return holding, reference

    return asyncio.run(run())


def failed_notices() -> float:
    return REGISTRY.get_sample_value("tth_notices_total", {"outcome": "failed"}) or 0.0


def test_held_message_is_on_disk_and_both_are_told(sink: Sink, tmp_path: Path) -> None:
    holding, reference = hold_and_notify(settings_for(sink.address, tmp_path))
    assert holding.store.read_message(reference) == MESSAGE
    assert holding.store.get(reference).session == "S1.T1"
    assert sorted(r for m in sink.messages for r in m.rcpt_tos) == [
        "b@thuathienhue.gov.vn", OFFICER
    ]
    for received in sink.messages:
        assert received.mail_from == "<>"
        notice = message_from_bytes(received.content, policy=default)
        assert notice["X-TTH-Notice"] == reference
        assert notice["Auto-Submitted"] == "auto-generated"
        text = notice.get_body().get_content()  # type: ignore[union-attr]
        assert reference in text
        assert SECRET_TEXT not in text


def test_a_notice_that_cannot_go_leaves_the_message_held(tmp_path: Path) -> None:
    before = failed_notices()
    holding, reference = hold_and_notify(settings_for(f"127.0.0.1:{free_port()}", tmp_path))
    assert failed_notices() == before + 2
    assert holding.store.read_message(reference) == MESSAGE
