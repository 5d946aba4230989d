"""One whole message in a fresh upstream transaction, against a real upstream."""

from __future__ import annotations

import asyncio

from gateway.config import UpstreamSettings
from gateway.outbound.delivery import DeliveryResult, deliver
from gateway.outbound.upstream import SmtpUpstream
from tests.support.sink import Sink

MESSAGE = b"Subject: route\r\n\r\nbody\r\n"


def send(sink: Sink, *, every_recipient: bool) -> DeliveryResult:
    settings = UpstreamSettings.model_validate(
        {"address": sink.address, "starttls": "off", "timeout": 5}, strict=False
    )

    async def run() -> DeliveryResult:
        upstream = SmtpUpstream(settings, "gw.test")
        connection = await upstream.acquire()
        try:
            return await deliver(connection, "a@hue.gov.vn", ("ok@hue.gov.vn", "gone@hue.gov.vn"),
                                 MESSAGE, every_recipient=every_recipient)
        finally:
            await upstream.release(connection, reusable=False)
            await upstream.close()

    return asyncio.run(run())


def test_a_permanently_refused_recipient_is_skipped_by_default(sink: Sink) -> None:
    sink.behaviour.refuse_rcpt["gone@hue.gov.vn"] = "550 5.1.1 No such user"
    result = send(sink, every_recipient=False)
    assert (result.delivered, result.accepted) == (True, ("ok@hue.gov.vn",))
    assert [m.rcpt_tos for m in sink.messages] == [["ok@hue.gov.vn"]]


def test_with_every_recipient_any_refusal_stops_before_data(sink: Sink) -> None:
    sink.behaviour.refuse_rcpt["gone@hue.gov.vn"] = "550 5.1.1 No such user"
    result = send(sink, every_recipient=True)
    assert (result.delivered, result.reply.code) == (False, 550)
    assert sink.messages == []
