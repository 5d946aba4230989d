"""Relaying: `accept` and `tag` send the message on the transaction's own upstream
connection, and the client gets the upstream's own final reply."""

from __future__ import annotations

import re

from gateway.deciding.seam import Decided, Disposed
from gateway.mail.headers import UnsignableHeader
from gateway.mail.replies import UPSTREAM_FAILED, Reply, reply
from gateway.mail.spool import Spool
from gateway.outbound.outage import UpstreamOutage
from gateway.outbound.upstream import UpstreamError, reset
from gateway.record import metrics

_QUEUE_ID = re.compile(r"queued as ([A-Za-z0-9._-]+)|delivered as ([^\s]+)", re.IGNORECASE)


def outgoing(message: Decided) -> tuple[bytes, Spool]:
    """The lines added on top of the message (Received, then the verdict's fields) and the
    message, both as the finishing step (DKIM) leaves them: it runs last, after every
    header the gateway adds. The caller closes the spool when it is not `message.spool`."""
    verdict = message.decision.verdict
    charset = "utf-8" if message.envelope.smtputf8 else "ascii"
    header = message.received + b"".join(
        f"{name}: {value}\r\n".encode(charset, "replace") for name, value in verdict.headers
    )
    finish = message.decision.finish
    return (header, message.spool) if finish is None else finish(header, message.spool)


def unsignable(message: Decided, exc: UnsignableHeader) -> Reply:
    """The refusal of a message from inside whose header cannot be DKIM-signed: it would
    fail the same way every time (never a 4xx the sender retries for days), and mail is
    never sent unsigned."""
    message.record.outcome = "rejected"
    return reply(554, "5.6.0", "Message header malformed: a header line is not a field "
                 "(RFC 5322 2.2), so the message cannot be DKIM-signed",
                 utf8=message.envelope.smtputf8, reason=f"DKIM signing: {exc}")


class Relay:
    """`accept`, `tag`, and a redirect to other recipients once they are accepted."""

    def __init__(self) -> None:
        self.outage = UpstreamOutage()

    async def dispose(self, message: Decided) -> Disposed:
        """DATA on the transaction's connection, whose envelope the upstream accepted."""
        record = message.record
        try:
            header, spool = outgoing(message)
        except UnsignableHeader as exc:
            return Disposed(unsignable(message, exc), await reset(message.upstream))
        try:
            with metrics.STAGE_TIME.labels("upstream").time():
                answer = await message.upstream.data(header, spool, message.envelope.smtputf8)
        except UpstreamError as exc:
            metrics.UPSTREAM_ERRORS.labels(exc.kind).inc()
            self.outage.failed("end of data", exc)
            record.outcome = "tempfailed"
            record.upstream_reply = str(exc)
            return Disposed(reply(*UPSTREAM_FAILED, reason=str(exc)), False)
        finally:
            if spool is not message.spool:
                spool.close()
        self.outage.succeeded("end of data")
        record.upstream_reply = answer.one_line()
        match = _QUEUE_ID.search(record.upstream_reply)
        record.queue_id = (match.group(1) or match.group(2)) if match else None
        if answer.code == 250:
            record.outcome = "relayed"
        else:
            record.outcome = "tempfailed" if answer.is_temporary else "rejected"
            metrics.UPSTREAM_ERRORS.labels(f"reply_{answer.code // 100}xx").inc()
        return Disposed(answer, True)
