"""The aiosmtpd handler: small hook methods that forward the envelope live and hand the
decided message to the action stage.

MAIL and each RCPT reach the upstream as they arrive (a before-queue proxy,
like Postfix's smtpd_proxy_filter); after DATA the decider decides and the
action stage carries the verdict out on the transaction's connection. The
client hears 250 only when the upstream said 250 (or the hold is fsynced).
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import time
from typing import Any

from aiosmtpd.smtp import Envelope as SmtpEnvelope

from gateway.config import ServerSettings
from gateway.deciding.seam import ActionStage, Decided, Decider
from gateway.mail.dsn import MAIL_KEYWORDS, RCPT_KEYWORDS, as_sent
from gateway.mail.envelope import Envelope
from gateway.mail.replies import (
    DECIDER_FAILED,
    INTERNAL_ERROR,
    UPSTREAM_DOWN,
    UPSTREAM_FAILED,
    Reply,
    reply,
)
from gateway.mail.spool import Spool
from gateway.outbound.outage import UpstreamOutage
from gateway.outbound.upstream import (
    Upstream,
    UpstreamConnection,
    UpstreamError,
    mail_parameters,
    reset,
)
from gateway.policy.verdict import Verdict
from gateway.record import metrics
from gateway.record.audit import AuditLog, AuditRecord
from gateway.smtp.aiosmtpdfit import members_named
from gateway.smtp.dataread import PROBLEM_REPLIES, DataProblem, DataResult
from gateway.smtp.records import envelope_refusal, message_record
from gateway.smtp.server import GatewaySMTP
from gateway.smtp.session import GatewaySession, Transaction, encodable, printable
from gateway.smtp.trace import received_header

log = logging.getLogger("gateway.smtp.handler")


class RelayHandler:
    """Hooks called by `GatewaySMTP`: each event becomes a call on the decider or the action
    stage (passed in, like the upstream), and their reply is the client's. The session owns
    the upstream connection it opens at MAIL: every way a transaction ends releases it."""

    def __init__(
        self,
        settings: ServerSettings,
        hostname: str,
        upstream: Upstream,
        decider: Decider,
        actions: ActionStage,
        audit: AuditLog,
    ) -> None:
        self.settings = settings
        self.hostname = hostname
        self.upstream = upstream
        self.decider = decider
        self.actions = actions
        self.audit = audit
        #: Transactions being abandoned after their client left (awaited at shutdown).
        self.cleanups: set[asyncio.Task[None]] = set()
        self.outage = UpstreamOutage()

    def __dir__(self) -> list[str]:
        """Only the hooks and AUTH mechanisms: aiosmtpd's __init__ lists the handler's
        members (inspect.getmembers, dir) on every new connection to find them."""
        return members_named(type(self), ("handle_", "auth_"))

    # connection life

    def connection_opened(self, server: GatewaySMTP, session: GatewaySession) -> None:
        metrics.CONNECTIONS.inc()
        metrics.ACTIVE_CONNECTIONS.inc()

    def connection_refused(self, reason: str) -> None:
        metrics.CONNECTIONS_REFUSED.labels(reason).inc()

    def connection_closed(self, server: GatewaySMTP, session: GatewaySession) -> None:
        metrics.ACTIVE_CONNECTIONS.dec()
        session.closed = True
        if session.transaction is not None:
            # A command may have been cut off mid-exchange: the connection is not reused.
            task = server.loop.create_task(
                self._abandon(session, "client went away", clean=False)
            )
            self.cleanups.add(task)
            task.add_done_callback(self.cleanups.discard)

    async def handle_exception(self, error: Exception) -> str:
        """A bug must not bounce mail: the client hears a temporary failure and retries."""
        log.error("unexpected error in an SMTP session", exc_info=error)
        return reply(*INTERNAL_ERROR, reason=type(error).__name__).render()

    async def handle_PROXY(self, server: GatewaySMTP, session: GatewaySession,
                           envelope: SmtpEnvelope, proxy_data: Any) -> bool:
        if not server.peer_trusted():
            log.warning("%s PROXY header from untrusted %s refused", session.id, server.peer_ip())
            return False
        source = getattr(proxy_data, "src_addr", None)
        if source is not None:
            session.client.ip = str(source)
            session.client.forwarded = True
        return True

    def apply_xforward(self, session: GatewaySession, attributes: dict[str, str]) -> None:
        session.client.apply_xforward(attributes)

    # commands

    async def handle_EHLO(self, server: GatewaySMTP, session: GatewaySession,
                          envelope: SmtpEnvelope, hostname: str,
                          responses: list[str]) -> list[str]:
        await self._abandon(session, "EHLO")  # a greeting resets the transaction (RFC 5321)
        session.host_name = hostname
        if not session.client.forwarded or session.client.helo is None:
            session.client.helo = printable(hostname)
        kept = [line[4:] for line in responses[:-1] if not line.startswith("250-AUTH")]
        kept += ["PIPELINING", "DSN", "ENHANCEDSTATUSCODES"]
        if server.peer_trusted():
            kept.append("XFORWARD NAME ADDR PORT PROTO HELO IDENT SOURCE")
        # One multi-line reply, so one write: aiosmtpd pushes each list item on its own.
        return [Reply(250, None, (*kept, "HELP"))]  # type: ignore[list-item]

    async def handle_HELO(self, server: GatewaySMTP, session: GatewaySession,
                          envelope: SmtpEnvelope, hostname: str) -> str:
        await self._abandon(session, "HELO")
        session.host_name = hostname
        if not session.client.forwarded or session.client.helo is None:
            session.client.helo = printable(hostname)
        return f"250 {server.hostname}"

    def _envelope(self, session: GatewaySession, sender: str | None, rcpts: list[str],
                  utf8: bool) -> Envelope:
        client = session.client
        return Envelope(
            mail_from="" if sender in (None, "<>") else str(sender),
            rcpt_tos=tuple(rcpts),
            client_ip=client.ip,
            client_name=client.name,
            helo=client.helo,
            smtputf8=utf8,
        )

    def _decide(self, session: GatewaySession, step: str, call: Any, *args: Any) -> Verdict | Reply:
        try:
            verdict: Verdict = call(*args)
        except Exception:
            log.exception("%s decider failed at %s; tempfail (fail closed)", session.id, step)
            return reply(*DECIDER_FAILED, reason=f"decider error at {step}")
        return verdict

    async def handle_MAIL(self, server: GatewaySMTP, session: GatewaySession,
                          envelope: SmtpEnvelope, address: str,
                          mail_options: list[str]) -> Reply:
        verdicts: list[Verdict] = []
        options = as_sent(mail_options, server.parameters_as_sent, MAIL_KEYWORDS)
        answer = options if isinstance(options, Reply) else \
            await self._mail(session, envelope, address, options, verdicts)
        self._note_refusal(server, session, "MAIL", printable(address), None, answer, verdicts)
        return answer

    def _note_refusal(self, server: GatewaySMTP, session: GatewaySession, stage: str,
                      sender: str, rcpt: str | None, answer: Reply,
                      verdicts: list[Verdict]) -> None:
        """A refusal at MAIL or RCPT, counted and audited like one after DATA."""
        if answer.code < 400 or answer.code == 503:  # 503: a command out of sequence
            return
        record = envelope_refusal(session, server.tls_active(), stage, sender, rcpt,
                                  answer, verdicts[0] if verdicts else None)
        metrics.TRANSACTIONS.labels(stage, record.outcome).inc()
        self.audit.write(record)

    async def _mail(self, session: GatewaySession, envelope: SmtpEnvelope, address: str,
                    mail_options: list[str], verdicts: list[Verdict]) -> Reply:
        utf8 = "SMTPUTF8" in mail_options
        if not encodable(address):
            return reply(553, "5.1.7", "Sender address is not valid UTF-8")
        if session.transaction is not None:  # never forget an open one: it holds a connection
            await self._abandon(session, "new MAIL")
        transaction = Transaction(self.decider.begin())
        verdict = self._decide(session, "MAIL", transaction.decider.sender,
                               self._envelope(session, address, [], utf8))
        if isinstance(verdict, Reply):
            return verdict
        verdicts.append(verdict)
        refused = self.actions.at_envelope(verdict, utf8)
        if refused is not None:
            return refused
        try:
            connection, answer = await self._open_upstream(session, address, mail_options, utf8)
        except UpstreamError as exc:
            metrics.UPSTREAM_ERRORS.labels(exc.kind).inc()
            self.outage.failed("MAIL", exc)
            return reply(*UPSTREAM_DOWN, reason=str(exc))
        self.outage.succeeded("MAIL")
        if answer.code != 250 or session.closed:
            # A client that left while MAIL was in flight ends no transaction: release now.
            await self.upstream.release(connection, reusable=answer.code != 250)
            return answer
        transaction.upstream = connection
        session.transaction = transaction
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        envelope.smtp_utf8 = utf8
        return answer

    async def _open_upstream(self, session: GatewaySession, sender: str, options: list[str],
                             utf8: bool) -> tuple[UpstreamConnection, Reply]:
        """A connection with MAIL sent (the caller releases it); a stale pooled connection
        is replaced once."""
        for attempt in (1, 2):
            connection = await self.upstream.acquire()
            forwarded = mail_parameters(connection, options)
            if isinstance(forwarded, Reply):
                return connection, forwarded
            try:
                await connection.xforward(session.client.xforward(bool(session.extended_smtp)))
                return connection, await connection.mail(sender, forwarded, utf8)
            except UpstreamError as exc:
                await self.upstream.release(connection, reusable=False)
                if attempt == 2 or exc.kind not in ("disconnected",):
                    raise
            except BaseException:  # a bug, or the client gone mid-command (cancelled)
                await self.upstream.release(connection, reusable=False)
                raise
        raise AssertionError("unreachable")

    async def handle_RCPT(self, server: GatewaySMTP, session: GatewaySession,
                          envelope: SmtpEnvelope, address: str,
                          rcpt_options: list[str]) -> Reply:
        verdicts: list[Verdict] = []
        options = as_sent(rcpt_options, server.parameters_as_sent, RCPT_KEYWORDS)
        answer = options if isinstance(options, Reply) else \
            await self._rcpt(session, envelope, address, options, verdicts)
        self._note_refusal(server, session, "RCPT", envelope.mail_from or "",
                           printable(address), answer, verdicts)
        return answer

    async def _rcpt(self, session: GatewaySession, envelope: SmtpEnvelope, address: str,
                    rcpt_options: list[str], verdicts: list[Verdict]) -> Reply:
        transaction = session.transaction
        if transaction is None or transaction.upstream is None:
            return reply(503, "5.5.1", "Error: need MAIL command")
        if transaction.upstream_broken:
            return reply(*UPSTREAM_FAILED, reason="upstream broken earlier")
        if len(envelope.rcpt_tos) >= self.settings.max_recipients:
            return reply(452, "4.5.3", "Too many recipients")
        if not encodable(address):
            return reply(553, "5.1.3", "Recipient address is not valid UTF-8")
        utf8 = bool(envelope.smtp_utf8)
        verdict = self._decide(session, "RCPT", transaction.decider.recipient,
                               self._envelope(session, envelope.mail_from,
                                              envelope.rcpt_tos, utf8), address)
        if isinstance(verdict, Reply):
            return verdict
        verdicts.append(verdict)
        refused = self.actions.at_envelope(verdict, utf8)
        if refused is not None:
            transaction.refused.append({"rcpt": address, "reply": refused.render()})
            return refused
        forwarded = mail_parameters(transaction.upstream, rcpt_options)
        if isinstance(forwarded, Reply):
            return forwarded
        try:
            answer = await transaction.upstream.rcpt(address, forwarded, utf8)
        except UpstreamError as exc:
            metrics.UPSTREAM_ERRORS.labels(exc.kind).inc()
            transaction.upstream_broken = True
            return reply(*UPSTREAM_FAILED, reason=str(exc))
        if answer.code in (250, 251):
            envelope.rcpt_tos.append(address)
            envelope.rcpt_options.extend(rcpt_options)
        else:
            transaction.refused.append({"rcpt": address, "reply": answer.render()})
        return answer

    async def handle_RSET(self, server: GatewaySMTP, session: GatewaySession,
                          envelope: SmtpEnvelope) -> str:
        await self._abandon(session, "RSET")
        return "250 2.0.0 Ok"

    async def handle_QUIT(self, server: GatewaySMTP, session: GatewaySession,
                          envelope: SmtpEnvelope) -> str:
        await self._abandon(session, "QUIT")
        return "221 2.0.0 Bye"

    async def _abandon(self, session: GatewaySession, why: str, *, clean: bool = True) -> None:
        """End an open transaction without a message: RSET upstream and pool the connection
        (only when the exchange ended `clean`ly, between commands)."""
        transaction, session.transaction = session.transaction, None
        if transaction is None or transaction.upstream is None:
            return
        reusable = False
        try:
            if clean and not transaction.upstream_broken:
                await transaction.upstream.rset()
                reusable = True
        except UpstreamError:
            pass
        finally:  # also when this command is cancelled because the client left
            await self.upstream.release(transaction.upstream, reusable=reusable)
        log.debug("%s transaction %s abandoned (%s)", session.id, transaction.id, why)

    async def data_aborted(self, session: GatewaySession) -> None:
        transaction = session.transaction
        session.transaction = None
        metrics.TRANSACTIONS.labels("DATA", "aborted").inc()
        if transaction is not None and transaction.upstream is not None:
            await self.upstream.release(transaction.upstream, reusable=False)

    async def before_data(self, server: GatewaySMTP, session: GatewaySession,
                          envelope: SmtpEnvelope) -> Reply | None:
        """Refuse DATA at once when the transaction cannot succeed."""
        transaction = session.transaction
        if transaction is None or transaction.upstream is None:
            return reply(503, "5.5.1", "Error: need MAIL command")
        if transaction.upstream_broken:
            return reply(*UPSTREAM_FAILED, reason="upstream broken earlier")
        return None

    # the message

    async def handle_message(self, server: GatewaySMTP, session: GatewaySession,
                             envelope: SmtpEnvelope, spool: Spool,
                             result: DataResult) -> Reply:
        transaction = session.transaction
        session.transaction = None
        assert transaction is not None and transaction.upstream is not None
        started = time.monotonic()
        record = message_record(session, server.tls_active(), envelope, transaction, result.size)
        record.own_headers = list(result.own_headers)
        metrics.MESSAGE_SIZE.observe(result.size)
        connection = transaction.upstream
        try:
            final, reusable = await self._conclude(server, session, envelope, spool,
                                                   result, transaction, record)
        except Exception:
            log.exception("%s failed after DATA; tempfail (nothing relayed)", session.id)
            record.outcome = "tempfailed"
            final, reusable = reply(*INTERNAL_ERROR, reason="internal error after DATA"), False
        await self.upstream.release(connection, reusable=reusable)
        record.reply = final.one_line()
        record.duration_ms = round((time.monotonic() - transaction.started) * 1000, 3)
        metrics.TRANSACTIONS.labels("DATA", record.outcome).inc()
        metrics.PROCESSING_TIME.observe(time.monotonic() - started)
        self.audit.write(record)
        return final

    async def _conclude(self, server: GatewaySMTP, session: GatewaySession,
                        envelope: SmtpEnvelope, spool: Spool, result: DataResult,
                        transaction: Transaction,
                        record: AuditRecord) -> tuple[Reply, bool]:
        """Decide, then let the action stage carry it out; returns the final reply and
        whether the connection can be pooled."""
        utf8 = bool(envelope.smtp_utf8)
        connection = transaction.upstream
        assert connection is not None
        if result.problem is not DataProblem.NONE:
            record.outcome = "rejected"
            return reply(*PROBLEM_REPLIES[result.problem], reason=result.problem.value), \
                await reset(connection)
        facts = self._envelope(session, envelope.mail_from, envelope.rcpt_tos, utf8)
        try:
            decision = await transaction.decider.message(facts, spool)
        except Exception:
            log.exception("%s decider failed after DATA; tempfail (fail closed)", session.id)
            metrics.DECISION_FAILURES.inc()
            record.outcome = "tempfailed"
            return reply(*DECIDER_FAILED, reason="decider error"), await reset(connection)
        received = received_header(
            session.client, hostname=self.hostname, transaction_id=record.session,
            esmtp=bool(session.extended_smtp), tls=server.tls_active(), utf8=utf8,
            recipients=list(envelope.rcpt_tos),
        )
        disposed = await self.actions.dispose(Decided(
            facts, spool, decision, connection, tuple(envelope.mail_options),
            session.client.xforward(bool(session.extended_smtp)), received, record,
        ))
        return disposed.reply, disposed.reusable


# aiosmtpd reads handle_EHLO's signature on every new connection (to tell its old
# 4-argument form from the 5-argument one): it finds it here, computed once.
RelayHandler.handle_EHLO.__signature__ = inspect.signature(  # type: ignore[attr-defined]
    RelayHandler.handle_EHLO)
