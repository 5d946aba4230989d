"""One whole message in a fresh upstream transaction, against a real upstream."""

from __future__ import annotations

import asyncio

from gateway.config import UpstreamSettings
from gateway.mail.spool import Spool, stuff
from gateway.outbound.delivery import DeliveryResult, deliver
from gateway.outbound.upstream import SmtpUpstream
from tests.support.sink import Sink

MESSAGE = b"Subject: route\r\n\r\nbody\r\n"


def send(sink: Sink, *, every_recipient: bool, message: bytes | Spool = MESSAGE,
         header: bytes = b"") -> DeliveryResult:
    settings = UpstreamSettings.model_validate(
        {"address": sink.address, "starttls": "off", "timeout": 5}, strict=False
    )

    async def run() -> DeliveryResult:
        upstream = SmtpUpstream(settings, "gw.test")
        connection = await upstream.acquire()
        try:
            return await deliver(connection, "a@hue.gov.vn", ("ok@hue.gov.vn", "gone@hue.gov.vn"),
                                 message, header=header, every_recipient=every_recipient)
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


def test_a_spooled_message_is_streamed_as_it_is(sink: Sink) -> None:
    """A redirect hands over the spool it received (wire form, in a file when large): it is
    sent as it is, the 8-bit body asks for BODY=8BITMIME, and the spool stays the caller's."""
    body = b"".join(b".line %d \xc4\x91\xc3\xb4ng\r\n" % number for number in range(20000))
    message = b"Subject: big\r\n\r\n" + body + b".\r\n..\r\nend\r\n"
    spool = Spool(threshold=4096)
    for start in range(0, len(wire := stuff(message)), 1000):
        spool.write(wire[start : start + 1000])
    assert spool.path() is not None
    try:
        result = send(sink, every_recipient=True, message=spool, header=b"X-Top: 1\r\n")
        assert result.delivered
        assert sink.messages[-1].content == b"X-Top: 1\r\n" + message
        assert "BODY=8BITMIME" in sink.messages[-1].mail_options
        assert spool.getvalue() == wire
    finally:
        spool.close()
