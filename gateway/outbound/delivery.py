"""Sending one whole message in a fresh upstream transaction (release, notices, redirect)."""

from __future__ import annotations

from dataclasses import dataclass

from gateway.mail.replies import Reply, reply
from gateway.mail.spool import Spool, message_spool
from gateway.outbound.upstream import Upstream, UpstreamConnection, mail_parameters


@dataclass(frozen=True, slots=True)
class DeliveryResult:
    """The reply that ended the transaction and what became of each recipient."""

    reply: Reply
    accepted: tuple[str, ...] = ()
    refused: tuple[str, ...] = ()

    @property
    def delivered(self) -> bool:
        return self.reply.code == 250

    @property
    def temporary(self) -> bool:
        return self.reply.is_temporary


def _mail_options(connection: UpstreamConnection, header: bytes, message: Spool,
                  utf8: bool) -> list[str] | Reply:
    """SMTPUTF8 and BODY=8BITMIME as the message needs them, if the upstream has them."""
    wanted = ["SMTPUTF8"] if utf8 else []
    if not (header.isascii() and message.isascii()):
        wanted.append("BODY=8BITMIME")
    return mail_parameters(connection, wanted)


async def deliver(
    connection: UpstreamConnection,
    mail_from: str,
    recipients: tuple[str, ...],
    message: bytes | Spool,
    *,
    header: bytes = b"",
    utf8: bool = False,
    every_recipient: bool = False,
) -> DeliveryResult:
    """MAIL, RCPT for each recipient, DATA of `message`: the message, or its wire form
    already spooled (streamed as it is; a redirect sends the spool it received). A
    temporary refusal of any recipient stops it all, so that a retry never sends twice;
    permanently refused recipients are skipped, unless `every_recipient` is set: then any
    refusal stops it before DATA. Raises UpstreamError when the upstream cannot be talked to."""
    spool = message if isinstance(message, Spool) else message_spool(message)
    try:
        return await _deliver(connection, mail_from, recipients, spool, header, utf8,
                              every_recipient)
    finally:
        if spool is not message:
            spool.close()


async def _deliver(connection: UpstreamConnection, mail_from: str, recipients: tuple[str, ...],
                   spool: Spool, header: bytes, utf8: bool,
                   every_recipient: bool) -> DeliveryResult:
    options = _mail_options(connection, header, spool, utf8)
    if isinstance(options, Reply):
        return DeliveryResult(options)
    answer = await connection.mail(mail_from, options, utf8)
    if answer.code != 250:
        await connection.rset()
        return DeliveryResult(answer)
    accepted: list[str] = []
    refused: list[str] = []
    for recipient in recipients:
        answer = await connection.rcpt(recipient, [], utf8)
        if answer.code in (250, 251):
            accepted.append(recipient)
            continue
        if answer.is_temporary or every_recipient:
            await connection.rset()
            return DeliveryResult(answer, (), (f"{recipient}: {answer.render()}",))
        refused.append(f"{recipient}: {answer.render()}")
    if not accepted:
        await connection.rset()
        last = answer if refused else reply(554, "5.5.1", "No valid recipients")
        return DeliveryResult(last, (), tuple(refused))
    final = await connection.data(header, spool, utf8)
    return DeliveryResult(final, tuple(accepted), tuple(refused))


async def deliver_via(
    upstream: Upstream,
    mail_from: str,
    recipients: tuple[str, ...],
    message: bytes | Spool,
    *,
    header: bytes = b"",
    utf8: bool = False,
    every_recipient: bool = False,
) -> DeliveryResult:
    """`deliver` on a connection of `upstream`, given back (for reuse only when the
    exchange completed). Raises UpstreamError when the upstream cannot be talked to."""
    connection = await upstream.acquire()
    completed = False
    try:
        result = await deliver(connection, mail_from, recipients, message, header=header,
                               utf8=utf8, every_recipient=every_recipient)
        completed = True
    finally:
        await upstream.release(connection, reusable=completed)
    return result
