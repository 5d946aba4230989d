"""aiosmtpd's SMTP protocol, with the gateway's DATA reader, XFORWARD and reply discipline.

The protocol does SMTP I/O only; every decision is made by the handler's hooks.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence
from typing import Any, AnyStr

from aiosmtpd.smtp import SMTP, syntax

from gateway.config import ServerSettings
from gateway.mail.ownheaders import HeaderFilter
from gateway.mail.replies import Reply, reply, with_enhanced
from gateway.mail.spool import Spool
from gateway.record import metrics
from gateway.smtp.dataread import read_data
from gateway.smtp.session import GatewaySession
from gateway.smtp.wiresyntax import (
    XFORWARD_ATTRIBUTES,
    Network,
    in_networks,
    plain_address,
    well_formed,
    xtext_decode,
)

log = logging.getLogger("gateway.smtp.server")


class QuietUnknownCommands(logging.Filter):
    """aiosmtpd logs a WARNING per unknown command, so a client decides the log volume;
    those lines are kept only when aiosmtpd's logger is set to DEBUG."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.msg == "%r unrecognised: %s":
            return logging.getLogger(record.name).isEnabledFor(logging.DEBUG)
        return True


logging.getLogger("mail.log").addFilter(QuietUnknownCommands())


_TOO_MANY = {
    "total": "Too many connections to this gateway, try again later",
    "per_ip": "Too many connections from your address, try again later",
}


class ConnectionLimiter:
    """Counts open connections, in all and per client address, for one worker."""

    def __init__(self, total: int, per_ip: int) -> None:
        self.total = total
        self.per_ip = per_ip
        self.open: set[GatewaySMTP] = set()
        #: Relays of complete messages still running (they outlive a lost client).
        self.relays: set[asyncio.Task[Reply]] = set()
        self._by_ip: dict[str, int] = {}

    def admit(self, protocol: GatewaySMTP, ip: str | None, *, trusted: bool = False) -> str | None:
        """Register the connection, or say why it is refused. A trusted relay (Postfix in
        front) carries every client's connections, so only the total limit applies to it."""
        if len(self.open) >= self.total:
            return "total"
        key = ip or "?"
        if not trusted and self._by_ip.get(key, 0) >= self.per_ip:
            return "per_ip"
        self.open.add(protocol)
        self._by_ip[key] = self._by_ip.get(key, 0) + 1
        return None

    def leave(self, protocol: GatewaySMTP, ip: str | None) -> None:
        if protocol in self.open:
            self.open.discard(protocol)
            key = ip or "?"
            self._by_ip[key] -= 1
            if not self._by_ip[key]:
                del self._by_ip[key]


_MEMBERS: dict[tuple[type, tuple[str, ...]], list[str]] = {}


def members_named(cls: type, prefixes: tuple[str, ...]) -> list[str]:
    """The names of `cls`'s attributes that start with one of `prefixes`, listed once."""
    key = (cls, prefixes)
    if key not in _MEMBERS:
        _MEMBERS[key] = [name for name in dir(cls) if name.startswith(prefixes)]
    return _MEMBERS[key]


class GatewaySMTP(SMTP):
    """One client connection."""

    def __init__(
        self,
        handler: Any,
        settings: ServerSettings,
        limiter: ConnectionLimiter,
        trusted_relays: Sequence[Network],
        **kwargs: Any,
    ) -> None:
        self.settings = settings
        self.limiter = limiter
        self.trusted_relays = trusted_relays
        self.closing = False
        self._admitted = False
        self._admitted_key: str | None = None
        self.relaying = False
        super().__init__(handler, **kwargs)

    def __dir__(self) -> list[str]:
        """Only the SMTP verbs and AUTH mechanisms.

        aiosmtpd's __init__ looks its verbs up in dir() with inspect.getmembers
        for every new connection; walking every attribute cost a fifth of the
        CPU of relaying a 5 KB message.
        """
        return members_named(type(self), ("smtp_", "auth_"))

    def _create_session(self) -> GatewaySession:
        return GatewaySession(self.loop)

    # Plain methods, not properties: aiosmtpd's __init__ walks the members with inspect.

    def gateway_session(self) -> GatewaySession:
        assert isinstance(self.session, GatewaySession)
        return self.session

    def peer_ip(self) -> str | None:
        peer = self.session.peer if self.session else None
        return str(peer[0]) if isinstance(peer, tuple) and peer else None

    def peer_trusted(self) -> bool:
        return in_networks(self.peer_ip(), self.trusted_relays)

    def tls_active(self) -> bool:
        return self._tls_protocol is not None

    def _getaddr(self, arg: str) -> tuple[str | None, str | None]:
        """aiosmtpd's parser, but an unclosed `<address` or a space or control is malformed.

        The plain `<dot-atom@domain>` form is read without the email header parser.
        """
        plain = plain_address(arg, self.local_part_limit)
        if plain is not None:
            return plain
        try:
            address, rest = super()._getaddr(arg)
        except (IndexError, AttributeError, TypeError, ValueError):
            # email's header parser raises more than HeaderParseError on cut-off input
            # (`u@`, `"a"@`, `<a@[>`): that is a malformed address, not a local failure.
            return None, None
        if address is None or not well_formed(address, arg, rest):
            return None, None
        return address, rest

    async def push(self, status: AnyStr | Reply) -> None:
        """Every reply leaves through here; aiosmtpd's own get an enhanced code."""
        if isinstance(status, Reply):
            text: str | bytes = status.render()
        elif isinstance(status, str):
            text = "\r\n".join(with_enhanced(line) for line in status.split("\r\n"))
        else:
            text = status
        if isinstance(text, str):
            # aiosmtpd echoes some arguments; bytes that were not UTF-8 become "?".
            text = text.encode("utf-8" if self.enable_SMTPUTF8 else "ascii", "replace")
        if self.transport is None or self.transport.is_closing():
            return  # the client is gone (uvloop raises on a write to a closed transport)
        await super().push(text)

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        """After STARTTLS aiosmtpd starts a new session: keep what the transport told us."""
        previous = self.session
        super().connection_made(transport)
        if isinstance(previous, GatewaySession) and previous is not self.session:
            session = self.gateway_session()
            session.proxy_data = previous.proxy_data
            session.client.ip = previous.client.ip if previous.proxy_data else self.peer_ip()
            session.client.forwarded = previous.proxy_data is not None

    async def _handle_client(self) -> None:
        session = self.gateway_session()
        session.client.ip = self.peer_ip()
        self._admitted_key = self.peer_ip()
        refusal = self.limiter.admit(self, self._admitted_key, trusted=self.peer_trusted())
        if refusal is not None:
            self.event_handler.connection_refused(refusal)
            too_many = reply(421, "4.7.0", _TOO_MANY[refusal])
            await super().push(too_many.render())
            self._writer.close()
            return
        self._admitted = True
        self.event_handler.connection_opened(self, session)
        try:
            await super()._handle_client()
        except ConnectionError:  # the client reset the connection while we answered
            log.info("%s client went away", session.id)

    def connection_lost(self, error: Exception | None) -> None:
        if self._admitted and self.session is not None:
            self._admitted = False
            self.limiter.leave(self, self._admitted_key)
            self.event_handler.connection_closed(self, self.gateway_session())
        super().connection_lost(error)

    def _timeout_cb(self) -> None:
        """Silence too long: say so (`421 4.4.2`) before closing, as README promises."""
        if self.transport is not None and not self.transport.is_closing():
            if self.relaying:
                self._reset_timeout()
                return
            log.info("%s timeout", self.gateway_session().id)
            goodbye = reply(421, "4.4.2", f"{self.hostname} Error: timeout exceeded").render()
            self._writer.write(goodbye.encode() + b"\r\n")
        super()._timeout_cb()  # type: ignore[no-untyped-call]

    def shutdown(self) -> None:
        """Close now if idle; otherwise after the transaction in flight ends."""
        self.closing = True
        if self.session is not None and not self.gateway_session().busy:
            self.say_goodbye()

    def say_goodbye(self) -> None:
        """`421 4.3.2` and close: the client knows to come back, not that it was cut off.
        A message whose relay is running keeps its connection for the upstream's reply."""
        transport = self.transport
        if transport is None or transport.is_closing() or self.relaying:
            return
        goodbye = reply(421, "4.3.2", "Service shutting down").render()
        self._writer.write(goodbye.encode() + b"\r\n")
        transport.close()

    async def close_if_closing(self) -> None:
        if self.closing:
            self.say_goodbye()

    @syntax("RSET")
    async def smtp_RSET(self, arg: str | None) -> None:
        """After a RSET while shutting down the session is idle: say goodbye."""
        await super().smtp_RSET(arg)
        await self.close_if_closing()

    async def smtp_STARTTLS(self, arg: str | None) -> None:
        """RFC 3207 resets the session: not in the middle of a mail transaction."""
        if self.session is not None and self.gateway_session().transaction is not None:
            await self.push(reply(503, "5.5.1", "Error: MAIL transaction in progress"))
            return
        await super().smtp_STARTTLS(arg)

    @syntax("VRFY <address>")
    async def smtp_VRFY(self, arg: str | None) -> None:
        """aiosmtpd's VRFY, but a malformed address gets 501 5.1.3 without being echoed."""
        if arg and self._getaddr(arg)[0] is None:
            await self.push(reply(501, "5.1.3", "Error: malformed address"))
            return
        await super().smtp_VRFY(arg)

    @syntax("XFORWARD attribute=value ...")
    async def smtp_XFORWARD(self, arg: str | None) -> None:
        if not self.peer_trusted():
            await self.push('500 Error: command "XFORWARD" not recognized')
            return
        session = self.gateway_session()
        if session.transaction is not None:
            await self.push(reply(503, "5.5.1", "Error: XFORWARD not allowed in a transaction"))
            return
        attributes: dict[str, str] = {}
        for item in (arg or "").split():
            name, sep, value = item.partition("=")
            if not sep or name.upper() not in XFORWARD_ATTRIBUTES:
                await self.push(reply(501, "5.5.4", f"Error: bad XFORWARD attribute {name}"))
                return
            attributes[name.upper()] = xtext_decode(value)
        if not attributes:
            await self.push(reply(501, "5.5.4", "Syntax: XFORWARD attribute=value ..."))
            return
        self.event_handler.apply_xforward(session, attributes)
        await self.push(reply(250, "2.0.0", "Ok"))

    @syntax("DATA")
    async def smtp_DATA(self, arg: str | None) -> None:
        if await self.check_helo_needed() or await self.check_auth_needed("DATA"):
            return
        session = self.gateway_session()
        envelope = self.envelope
        if envelope is None or not envelope.rcpt_tos:
            await self.push(reply(503, "5.5.1", "Error: need RCPT command"))
            return
        if arg:
            await self.push(reply(501, "5.5.4", "Syntax: DATA"))
            return
        early = await self.event_handler.before_data(self, session, envelope)
        if early is not None:
            await self.push(early)
            return
        spool = Spool(self.settings.spool_threshold, self.settings.spool_dir)
        session.in_data = True
        try:
            await self.push("354 End data with <CR><LF>.<CR><LF>")
            receiving = time.monotonic()
            try:
                result = await read_data(
                    self._reader,
                    spool,
                    max_size=self.settings.max_message_size,
                    max_line=self.settings.max_line_length,
                    check_header_8bit=(
                        self.settings.eight_bit_headers == "reject"
                        and not envelope.smtp_utf8
                    ),
                    on_block=lambda: self._reset_timeout(self.settings.data_timeout),
                    headers=HeaderFilter(self.settings.own_headers.namespace()),
                )
            except (asyncio.IncompleteReadError, ConnectionError):
                log.info("%s client went away during DATA", session.id)
                spool.close()
                await self.event_handler.data_aborted(session)
                if self.transport is not None:
                    self.transport.close()
                return
            except asyncio.CancelledError:
                spool.close()
                raise
            # From the terminator until the final reply is written, no timer may answer
            # for the upstream: its reply is the client's (the timer re-arms meanwhile).
            self.relaying = True
            self._reset_timeout()
            metrics.STAGE_TIME.labels("receive").observe(time.monotonic() - receiving)
            status = await self._relay_shielded(session, envelope, spool, result)
            self._set_post_data_state()  # type: ignore[no-untyped-call]
            await self.push(status)
        finally:
            session.in_data = False
            self.relaying = False
        self._reset_timeout()
        await self.close_if_closing()

    async def _relay_shielded(self, session: GatewaySession, envelope: Any, spool: Spool,
                              result: Any) -> Reply:
        """Decide and relay a complete message; a client that vanishes now cannot cut it short.

        Once the terminator is in, the upstream transaction runs to its end (and
        is audited, its connection released) even if this connection is lost.
        """

        async def conclude() -> Reply:
            try:
                status: Reply = await self.event_handler.handle_message(
                    self, session, envelope, spool, result
                )
                return status
            finally:
                spool.close()

        task = self.loop.create_task(conclude())
        self.limiter.relays.add(task)
        task.add_done_callback(self.limiter.relays.discard)
        return await asyncio.shield(task)
