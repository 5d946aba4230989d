"""A redirect to another host: a fresh transaction there, the spool streamed as received
(a large message stays in its file), the route's 250 is the client's."""

from __future__ import annotations

import json
import smtplib
from collections.abc import Callable

from gateway.deciding.seam import AcceptAll, MessageDecision
from gateway.mail.envelope import Envelope
from gateway.mail.spool import Spool
from gateway.policy.verdict import Action, Verdict
from gateway.service.serve import Gateway
from tests.support.sink import Sink

BODY = b"".join(b".d\xc3\xb2ng %d\r\n" % number for number in range(30000))
MESSAGE = b"From: a@hue.gov.vn\r\nSubject: route\r\n\r\n" + BODY + b".\r\nend\r\n"


class Redirecting(AcceptAll):
    """Accepts every step; after DATA redirects the message to `route`."""

    def __init__(self, route: str) -> None:
        self.route = route

    async def message(self, envelope: Envelope, spool: Spool) -> MessageDecision:
        assert spool.path() is not None  # the message is in a file, not in memory
        return MessageDecision(Verdict(Action.REDIRECT, redirect_to=(f"smtp:{self.route}",),
                                       headers=(("X-TTH-Policy", "action=redirect"),)))


def test_a_large_message_reaches_the_route_host_as_it_came(
    sink: Sink, gateway_at: Callable[..., Gateway],
) -> None:
    other = Sink()
    other.start()
    try:
        gateway = gateway_at(sink.address, decider=Redirecting(other.address),
                             spool_threshold=64 * 1024)
        with smtplib.SMTP(*gateway.addresses()[0], timeout=60) as client:
            client.ehlo("client.test")
            code, text = client.mail("a@hue.gov.vn", ["BODY=8BITMIME"])
            assert code == 250
            assert client.rcpt("b@hue.gov.vn")[0] == 250
            code, text = client.data(MESSAGE)
        assert (code, text) == (250, b"2.0.0 Ok: queued as Q1")
        assert sink.messages == []
        got = other.messages[-1]
        assert (got.mail_from, got.rcpt_tos) == ("a@hue.gov.vn", ["b@hue.gov.vn"])
        assert "BODY=8BITMIME" in got.mail_options
        head, _, rest = got.content.partition(b"X-TTH-Policy: action=redirect\r\n")
        assert head.startswith(b"Received: from client.test ") and rest == MESSAGE
        lines = gateway.settings.audit.path.read_text().splitlines()
        record = json.loads(lines[-1])
        assert (record["outcome"], record["redirected_to"]) == (
            "redirected", ["b@hue.gov.vn", other.address])
    finally:
        other.stop()
