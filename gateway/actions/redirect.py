"""The `redirect` action: its route (other recipients, another host, or both), and the
message sent there instead."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass

from gateway.actions.relay import Relay, outgoing, unsignable
from gateway.config import MAILDIR_PREFIX, parse_hostport
from gateway.deciding.seam import Decided, Disposed
from gateway.mail.envelope import Envelope
from gateway.mail.headers import UnsignableHeader
from gateway.mail.replies import DECIDER_FAILED, UPSTREAM_FAILED, Reply, reply
from gateway.outbound.delivery import deliver_via
from gateway.outbound.upstream import Upstream, UpstreamError, mail_parameters, reset
from gateway.policy.verdict import Verdict
from gateway.record import metrics

log = logging.getLogger("gateway.actions.redirect")

HOST_PREFIX = "smtp:"
_ADDRESS = re.compile(r"\A[^\s<>@\x00-\x1f\x7f]+@[^\s<>@\x00-\x1f\x7f]+\Z")


class RedirectError(ValueError):
    """The redirect route is empty or malformed (a policy mistake: tempfail, never relay)."""


@dataclass(frozen=True, slots=True)
class RedirectRoute:
    """Where the message goes instead: `recipients`, through `upstream` (None: the usual one)."""

    recipients: tuple[str, ...]
    upstream: str | None = None


def plan_redirect(verdict: Verdict, envelope: Envelope) -> RedirectRoute:
    """Read `verdict.redirect_to`: addresses, and at most one `smtp:HOST[:PORT]` or
    `maildir:FOLDER` route; with a route and no address, the original recipients go there."""
    recipients: list[str] = []
    routes: list[str] = []
    for entry in verdict.redirect_to:
        if entry.startswith(HOST_PREFIX):
            host = entry[len(HOST_PREFIX) :]
            try:
                parse_hostport(host, 25)
            except ValueError as exc:
                raise RedirectError(f"bad redirect host {entry!r}: {exc}") from exc
            routes.append(host)
        elif entry.startswith(MAILDIR_PREFIX) and entry[len(MAILDIR_PREFIX) :]:
            routes.append(entry)
        elif _ADDRESS.match(entry):
            recipients.append(entry)
        else:
            raise RedirectError(f"bad redirect entry {entry!r} (address, smtp:HOST or maildir:DIR)")
    if len(routes) > 1:
        raise RedirectError(f"a redirect has at most one route, not {routes}")
    if not recipients and not routes:
        raise RedirectError("redirect without a route or recipients")
    chosen = tuple(dict.fromkeys(recipients)) or tuple(envelope.rcpt_tos)
    return RedirectRoute(chosen, routes[0] if routes else None)


class Redirect:
    """`redirect`: other recipients on the transaction's own connection (then relayed like
    `accept`), or a fresh transaction with the route's host, the spool streamed as received."""

    def __init__(self, relay: Relay, route_upstream: Callable[[str], Upstream]) -> None:
        self.relay = relay
        self.route_upstream = route_upstream

    async def dispose(self, message: Decided) -> Disposed:
        record = message.record
        try:
            route = plan_redirect(message.decision.verdict, message.envelope)
        except RedirectError as exc:
            log.error("%s %s (policy mistake); tempfail", record.session, exc)
            record.outcome = "tempfailed"
            return Disposed(reply(*DECIDER_FAILED, reason=str(exc)),
                            await reset(message.upstream))
        record.redirected_to = [*route.recipients, *([route.upstream] if route.upstream else [])]
        if route.upstream is not None:
            return Disposed(await self._routed(message, route), await reset(message.upstream))
        return await self._recipients(message, route)

    async def _recipients(self, message: Decided, route: RedirectRoute) -> Disposed:
        """The transaction's connection: RSET, then MAIL again and the route's recipients."""
        record, envelope, connection = message.record, message.envelope, message.upstream
        utf8 = envelope.smtputf8
        try:
            await connection.rset()
            await connection.xforward(dict(message.xforward))
            options = mail_parameters(connection, list(message.mail_options))
            if isinstance(options, Reply):
                record.outcome = "rejected"
                return Disposed(options, await reset(connection))
            answer = await connection.mail(envelope.mail_from, options, utf8)
            for rcpt in route.recipients:
                if answer.code in (250, 251):
                    answer = await connection.rcpt(rcpt, [], utf8)
        except UpstreamError as exc:
            metrics.UPSTREAM_ERRORS.labels(exc.kind).inc()
            record.outcome = "tempfailed"
            return Disposed(reply(*UPSTREAM_FAILED, reason=str(exc)), False)
        if answer.code not in (250, 251):
            record.outcome = "tempfailed"
            log.error("%s redirect route refused: %s", record.session, answer.render())
            return Disposed(reply(*UPSTREAM_FAILED, reason="redirect route refused"),
                            await reset(connection))
        disposed = await self.relay.dispose(message)
        if record.outcome == "relayed":
            record.outcome = "redirected"
        return disposed

    async def _routed(self, message: Decided, route: RedirectRoute) -> Reply:
        """The route's own host: a fresh transaction there; its 250 is the client's."""
        assert route.upstream is not None
        record, envelope = message.record, message.envelope
        try:
            header, spool = outgoing(message)
        except UnsignableHeader as exc:
            return unsignable(message, exc)
        upstream = self.route_upstream(route.upstream)
        try:
            result = await deliver_via(upstream, envelope.mail_from, route.recipients, spool,
                                       header=header, utf8=envelope.smtputf8,
                                       every_recipient=True)
        except UpstreamError as exc:
            metrics.UPSTREAM_ERRORS.labels(exc.kind).inc()
            record.outcome = "tempfailed"
            return reply(*UPSTREAM_FAILED, reason=f"redirect route: {exc}")
        finally:
            if spool is not message.spool:
                spool.close()
            await upstream.close()
        record.upstream_reply = result.reply.one_line()
        if result.delivered:
            record.outcome = "redirected"
            return result.reply
        record.outcome = "tempfailed"
        record.rcpt_refused.extend({"rcpt": "route", "reply": line} for line in result.refused)
        log.error("%s redirect route refused: %s", record.session, result.reply.render())
        return reply(*UPSTREAM_FAILED, reason="redirect route refused")
