"""The aiosmtpd handler: small hook methods that forward the envelope live and relay DATA.

MAIL and each RCPT reach the upstream as they arrive (a before-queue proxy,
like Postfix's smtpd_proxy_filter); the message goes upstream only after the
decider said so. The client hears 250 only when the upstream said 250.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from aiosmtpd.smtp import Envelope as SmtpEnvelope

from gateway.actions.redirect import RedirectError, RedirectRoute, plan_redirect
from gateway.config import ServerSettings
from gateway.deciding.report import describe_decision
from gateway.deciding.seam import Decider, Finisher, Holding, MessageDecision
from gateway.mail.envelope import Envelope
from gateway.mail.replies import Reply, held_reply, refusal, reply
from gateway.mail.spool import Spool, unstuff
from gateway.outbound.delivery import deliver_via
from gateway.outbound.outage import UpstreamOutage
from gateway.outbound.upstream import Upstream, UpstreamConnection, UpstreamError, mail_parameters
from gateway.policy.verdict import Action, Verdict
from gateway.record import metrics
from gateway.record.audit import AuditLog, AuditRecord
from gateway.smtp.dataread import DataProblem, DataResult
from gateway.smtp.refusals import envelope_refusal
from gateway.smtp.server import GatewaySMTP
from gateway.smtp.session import GatewaySession, Transaction
from gateway.smtp.trace import received_header

log = logging.getLogger("gateway.smtp.handler")

_QUEUE_ID = re.compile(r"queued as ([A-Za-z0-9._-]+)|delivered as ([^\s]+)", re.IGNORECASE)

UPSTREAM_DOWN = (451, "4.4.1", "Upstream mail system unavailable, try again later")
UPSTREAM_FAILED = (451, "4.4.2", "Upstream mail system failed, try again later")
DECIDER_FAILED = (451, "4.3.0", "Temporary policy failure, try again later")
INTERNAL_ERROR = (451, "4.3.0", "Temporary local problem, try again later")


def encodable(text: str) -> bool:
    """False for arguments that arrived as bytes that are not UTF-8 (surrogate escapes)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def printable(text: str) -> str:
    """`text` with bytes that are not UTF-8 replaced, for headers and XFORWARD."""
    return text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")

_DATA_PROBLEMS: dict[DataProblem, tuple[int, str, str]] = {
    DataProblem.TOO_BIG: (552, "5.3.4", "Message size exceeds fixed maximum message size"),
    DataProblem.BARE_LINE_ENDING: (
        554,
        "5.6.0",
        "Bare CR or LF in message data; lines must end with CRLF (RFC 5321 2.3.8)",
    ),
    DataProblem.NUL: (554, "5.6.0", "NUL byte in message data"),
    DataProblem.LINE_TOO_LONG: (554, "5.6.0", "Line too long (RFC 5322 2.1.1)"),
    DataProblem.EIGHT_BIT_HEADER: (
        554,
        "5.6.7",
        "Non-ASCII message header without SMTPUTF8 (RFC 6532)",
    ),
}


def _no_routes(address: str) -> Upstream:
    raise UpstreamError("config", f"no upstream settings to reach the route {address}")


class RelayHandler:
    """Hooks called by `GatewaySMTP`; the upstream and the decider are passed in."""

    def __init__(
        self,
        settings: ServerSettings,
        hostname: str,
        upstream: Upstream,
        decider: Decider,
        audit: AuditLog,
        holding: Holding | None = None,
        route_upstream: Callable[[str], Upstream] | None = None,
    ) -> None:
        self.settings = settings
        self.hostname = hostname
        self.upstream = upstream
        self.decider = decider
        self.audit = audit
        self.holding = holding
        self.route_upstream = route_upstream or _no_routes
        #: Transactions being abandoned after their client left (awaited at shutdown).
        self.cleanups: set[asyncio.Task[None]] = set()
        self.outage = UpstreamOutage(log)

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
        client = session.client
        unavailable = "[UNAVAILABLE]"
        for key, value in attributes.items():
            known = None if value in (unavailable, "[TEMPUNAVAIL]") else value
            if key == "ADDR" and known:
                client.ip = known.removeprefix("IPV6:")
            elif key == "NAME":
                client.name = known
            elif key == "HELO":
                client.helo = known
            elif key == "PROTO":
                client.proto = known
        client.forwarded = True

    # commands

    async def handle_EHLO(self, server: GatewaySMTP, session: GatewaySession,
                          envelope: SmtpEnvelope, hostname: str,
                          responses: list[str]) -> list[str]:
        await self._abandon(session, "EHLO")  # a greeting resets the transaction (RFC 5321)
        session.host_name = hostname
        if not session.client.forwarded or session.client.helo is None:
            session.client.helo = printable(hostname)
        kept = [line for line in responses[:-1] if not line.startswith("250-AUTH")]
        kept += ["250-PIPELINING", "250-ENHANCEDSTATUSCODES"]
        if server.peer_trusted():
            kept.append("250-XFORWARD NAME ADDR PORT PROTO HELO IDENT SOURCE")
        return [*kept, Reply(250, None, ("HELP",))]  # type: ignore[list-item]

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
        self._count_rules(verdict)
        return verdict

    @staticmethod
    def _count_rules(verdict: Verdict) -> None:
        for hit in verdict.rules:
            metrics.RULE_HITS.labels(hit.name, hit.mode.value, hit.action.value).inc()

    @staticmethod
    def _verdict_refusal(verdict: Verdict, utf8: bool) -> Reply | None:
        """The reply for an envelope-stage verdict that stops the step, else None."""
        if verdict.action not in (Action.REJECT, Action.TEMPFAIL):
            return None
        hit = verdict.deciding_rule
        return refusal(
            hit.status_code if hit else None,
            hit.enhanced_status if hit else None,
            (hit.message_vi, hit.message_en) if hit else (),
            temporary=verdict.action is Action.TEMPFAIL,
            utf8=utf8,
            reason=f"rule {hit.name}" if hit else "policy",
        )

    async def handle_MAIL(self, server: GatewaySMTP, session: GatewaySession,
                          envelope: SmtpEnvelope, address: str,
                          mail_options: list[str]) -> Reply:
        verdicts: list[Verdict] = []
        answer = await self._mail(session, envelope, address, mail_options, verdicts)
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
        refused = self._verdict_refusal(verdict, utf8)
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
                await connection.xforward(self._xforward_attributes(session))
                return connection, await connection.mail(sender, forwarded, utf8)
            except UpstreamError as exc:
                await self.upstream.release(connection, reusable=False)
                if attempt == 2 or exc.kind not in ("disconnected",):
                    raise
            except BaseException:  # a bug, or the client gone mid-command (cancelled)
                await self.upstream.release(connection, reusable=False)
                raise
        raise AssertionError("unreachable")

    @staticmethod
    def _xforward_attributes(session: GatewaySession) -> dict[str, str]:
        """The real client, for an upstream that offers XFORWARD."""
        client = session.client
        unavailable = "[UNAVAILABLE]"
        return {
            "NAME": printable(client.name or unavailable),
            "ADDR": printable(client.ip or unavailable),
            "HELO": printable(client.helo or unavailable),
            "PROTO": printable(client.proto or ("ESMTP" if session.extended_smtp else "SMTP")),
        }

    async def handle_RCPT(self, server: GatewaySMTP, session: GatewaySession,
                          envelope: SmtpEnvelope, address: str,
                          rcpt_options: list[str]) -> Reply:
        verdicts: list[Verdict] = []
        answer = await self._rcpt(session, envelope, address, rcpt_options, verdicts)
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
        refused = self._verdict_refusal(verdict, utf8)
        if refused is not None:
            transaction.refused.append({"rcpt": address, "reply": refused.render()})
            return refused
        try:
            answer = await transaction.upstream.rcpt(address, rcpt_options, utf8)
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
        record = self._record(server, session, envelope, transaction, result.size)
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
        record.reply = final.render().replace("\r\n", " | ")
        record.duration_ms = round((time.monotonic() - transaction.started) * 1000, 3)
        metrics.TRANSACTIONS.labels("DATA", record.outcome).inc()
        metrics.PROCESSING_TIME.observe(time.monotonic() - started)
        self.audit.write(record)
        return final

    async def _conclude(self, server: GatewaySMTP, session: GatewaySession,
                        envelope: SmtpEnvelope, spool: Spool, result: DataResult,
                        transaction: Transaction,
                        record: AuditRecord) -> tuple[Reply, bool]:
        """Decide and act; returns the final reply and whether the connection can be pooled."""
        utf8 = bool(envelope.smtp_utf8)
        connection = transaction.upstream
        assert connection is not None
        if result.problem is not DataProblem.NONE:
            record.outcome = "rejected"
            return reply(*_DATA_PROBLEMS[result.problem], reason=result.problem.value), \
                await self._reset(connection)
        facts = self._envelope(session, envelope.mail_from, envelope.rcpt_tos, utf8)
        try:
            decision = await transaction.decider.message(facts, spool)
        except Exception:
            log.exception("%s decider failed after DATA; tempfail (fail closed)", session.id)
            metrics.DECISION_FAILURES.inc()
            record.outcome = "tempfailed"
            return reply(*DECIDER_FAILED, reason="decider error"), await self._reset(connection)
        verdict = decision.verdict
        self._count_rules(verdict)
        describe_decision(record, decision)
        metrics.DECISIONS.labels(record.direction or "unknown", verdict.action.value).inc()
        refused = self._verdict_refusal(verdict, utf8)
        if refused is not None:
            record.outcome = "rejected" if verdict.action is Action.REJECT else "tempfailed"
            return refused, await self._reset(connection)
        if verdict.action is Action.QUARANTINE:
            return await self._hold(session, facts, spool, decision, record), \
                await self._reset(connection)
        if verdict.action is Action.REDIRECT:
            return await self._redirect(server, session, envelope, spool, connection,
                                        verdict, record, decision.finish)
        return await self._relay(server, session, envelope, spool, connection, verdict, record,
                                 decision.finish)

    async def _hold(self, session: GatewaySession, facts: Envelope, spool: Spool,
                    decision: MessageDecision, record: AuditRecord) -> Reply:
        """Quarantine: 250 only once the copy is on disk (fsynced); then tell people."""
        if self.holding is None:
            log.error("%s quarantine asked but no quarantine store; tempfail", session.id)
            record.outcome = "tempfailed"
            return reply(*DECIDER_FAILED, reason="no quarantine store")
        try:
            reference = await self.holding.hold(spool, facts, decision, record.session)
        except Exception:
            log.exception("%s cannot store the message in quarantine; tempfail", session.id)
            record.outcome = "tempfailed"
            return reply(451, "4.3.0", "Cannot hold the message now, try again later",
                         reason="quarantine store failed")
        record.outcome = "quarantined"
        record.reference = reference
        self.holding.notify(reference, facts, decision)
        hit = decision.verdict.deciding_rule
        return held_reply(reference, hit.name if hit else None, utf8=facts.smtputf8)

    async def _redirect(self, server: GatewaySMTP, session: GatewaySession,
                        envelope: SmtpEnvelope, spool: Spool, connection: UpstreamConnection,
                        verdict: Verdict, record: AuditRecord,
                        finish: Finisher | None = None) -> tuple[Reply, bool]:
        """Send the message to the route (other recipients, another host) instead."""
        utf8 = bool(envelope.smtp_utf8)
        facts = self._envelope(session, envelope.mail_from, envelope.rcpt_tos, utf8)
        try:
            route = plan_redirect(verdict, facts)
        except RedirectError as exc:
            log.error("%s %s (policy mistake); tempfail", session.id, exc)
            record.outcome = "tempfailed"
            return reply(*DECIDER_FAILED, reason=str(exc)), await self._reset(connection)
        record.redirected_to = [*route.recipients, *([route.upstream] if route.upstream else [])]
        if route.upstream is not None:
            final = await self._deliver_routed(server, session, envelope, spool, route,
                                               verdict, record, finish)
            return final, await self._reset(connection)
        try:
            await connection.rset()
            await connection.xforward(self._xforward_attributes(session))
            options = mail_parameters(connection, list(envelope.mail_options))
            if isinstance(options, Reply):
                record.outcome = "rejected"
                return options, await self._reset(connection)
            answer = await connection.mail(envelope.mail_from or "", options, utf8)
            for rcpt in route.recipients:
                if answer.code in (250, 251):
                    answer = await connection.rcpt(rcpt, [], utf8)
        except UpstreamError as exc:
            metrics.UPSTREAM_ERRORS.labels(exc.kind).inc()
            record.outcome = "tempfailed"
            return reply(*UPSTREAM_FAILED, reason=str(exc)), False
        if answer.code not in (250, 251):
            record.outcome = "tempfailed"
            log.error("%s redirect route refused: %s", session.id, answer.render())
            return reply(*UPSTREAM_FAILED, reason="redirect route refused"), \
                await self._reset(connection)
        final, reusable = await self._relay(server, session, envelope, spool, connection,
                                            verdict, record, finish)
        if record.outcome == "relayed":
            record.outcome = "redirected"
        return final, reusable

    async def _deliver_routed(self, server: GatewaySMTP, session: GatewaySession,
                              envelope: SmtpEnvelope, spool: Spool, route: RedirectRoute,
                              verdict: Verdict, record: AuditRecord,
                              finish: Finisher | None = None) -> Reply:
        """The redirect's own host: a fresh transaction there; its 250 is the client's."""
        assert route.upstream is not None
        utf8 = bool(envelope.smtp_utf8)
        upstream = self.route_upstream(route.upstream)
        header = self._trace(server, session, envelope, record, verdict)
        outgoing = spool
        if finish is not None:  # last: DKIM signs every header the gateway added
            header, outgoing = finish(header, spool)
        message = unstuff(outgoing.getvalue())
        if outgoing is not spool:
            outgoing.close()
        try:
            result = await deliver_via(upstream, envelope.mail_from or "", route.recipients,
                                       message, header=header, utf8=utf8,
                                       every_recipient=True)
        except UpstreamError as exc:
            metrics.UPSTREAM_ERRORS.labels(exc.kind).inc()
            record.outcome = "tempfailed"
            return reply(*UPSTREAM_FAILED, reason=f"redirect route: {exc}")
        finally:
            await upstream.close()
        record.upstream_reply = result.reply.render().replace("\r\n", " | ")
        if result.delivered:
            record.outcome = "redirected"
            return result.reply
        record.outcome = "tempfailed"
        record.rcpt_refused.extend({"rcpt": "route", "reply": line} for line in result.refused)
        log.error("%s redirect route refused: %s", session.id, result.reply.render())
        return reply(*UPSTREAM_FAILED, reason="redirect route refused")

    def _trace(self, server: GatewaySMTP, session: GatewaySession, envelope: SmtpEnvelope,
               record: AuditRecord, verdict: Verdict) -> bytes:
        """The lines added on top of the message: Received, then the verdict's headers."""
        utf8 = bool(envelope.smtp_utf8)
        return received_header(
            session.client,
            hostname=self.hostname,
            transaction_id=record.session,
            esmtp=bool(session.extended_smtp),
            tls=server.tls_active(),
            utf8=utf8,
            recipients=list(envelope.rcpt_tos),
        ) + b"".join(
            f"{name}: {value}\r\n".encode("utf-8" if utf8 else "ascii", "replace")
            for name, value in verdict.headers
        )

    async def _relay(self, server: GatewaySMTP, session: GatewaySession,
                     envelope: SmtpEnvelope, spool: Spool, connection: UpstreamConnection,
                     verdict: Verdict, record: AuditRecord,
                     finish: Finisher | None = None) -> tuple[Reply, bool]:
        utf8 = bool(envelope.smtp_utf8)
        header = self._trace(server, session, envelope, record, verdict)
        outgoing = spool
        if finish is not None:  # last: DKIM signs every header the gateway added
            header, outgoing = finish(header, spool)
        try:
            with metrics.STAGE_TIME.labels("upstream").time():
                answer = await connection.data(header, outgoing, utf8)
        except UpstreamError as exc:
            metrics.UPSTREAM_ERRORS.labels(exc.kind).inc()
            self.outage.failed("end of data", exc)
            record.outcome = "tempfailed"
            record.upstream_reply = str(exc)
            return reply(*UPSTREAM_FAILED, reason=str(exc)), False
        finally:
            if outgoing is not spool:
                outgoing.close()
        self.outage.succeeded("end of data")
        record.upstream_reply = answer.render().replace("\r\n", " | ")
        match = _QUEUE_ID.search(record.upstream_reply)
        record.queue_id = (match.group(1) or match.group(2)) if match else None
        if answer.code == 250:
            record.outcome = "relayed"
        else:
            record.outcome = "tempfailed" if answer.is_temporary else "rejected"
            metrics.UPSTREAM_ERRORS.labels(f"reply_{answer.code // 100}xx").inc()
        return answer, True

    async def _reset(self, connection: UpstreamConnection) -> bool:
        try:
            await connection.rset()
        except UpstreamError:
            return False
        return True

    def _record(self, server: GatewaySMTP, session: GatewaySession, envelope: SmtpEnvelope,
                transaction: Transaction, size: int) -> AuditRecord:
        client = session.client
        return AuditRecord(
            time=datetime.now(UTC).isoformat(timespec="milliseconds"),
            session=f"{session.id}.{transaction.id}",
            client_ip=client.ip,
            client_name=client.name,
            helo=client.helo,
            tls=server.tls_active(),
            mail_from=envelope.mail_from or "",
            rcpt_accepted=list(envelope.rcpt_tos),
            rcpt_refused=transaction.refused,
            size=size,
        )
