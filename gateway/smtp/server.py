"""aiosmtpd's SMTP protocol, with the gateway's DATA reader, XFORWARD and reply discipline.

The protocol does SMTP I/O only; every decision is made by the handler's hooks.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence
from typing import Any, AnyStr, NoReturn, cast

from aiosmtpd.smtp import SMTP, TLSSetupException, syntax

from gateway.config import ServerSettings
from gateway.mail.dsn import KEYWORDS
from gateway.mail.literals import has_control
from gateway.mail.ownheaders import HeaderFilter
from gateway.mail.replies import (
    INTERNAL_ERROR,
    SPOOL_FAILED,
    Reply,
    on_the_wire,
    reply,
    with_enhanced,
)
from gateway.mail.spool import Spool
from gateway.record import metrics
from gateway.smtp.aiosmtpdfit import members_named
from gateway.smtp.dataread import read_data
from gateway.smtp.limiter import TOO_MANY, ConnectionLimiter
from gateway.smtp.session import GatewaySession
from gateway.smtp.wiresyntax import (
    BadAttribute,
    Network,
    in_networks,
    parse_path,
    xforward_attributes,
)

log = logging.getLogger("gateway.smtp.server")

#: Seconds a closed connection may take to send its last replies to a client that stopped
#: reading before it is cut off.
CLOSE_GRACE = 10.0


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
        #: The MAIL or RCPT parameters being handled, as the client wrote them.
        self.parameters_as_sent: list[str] = []
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
        """The address and its parameters (see `parse_path`); these are also kept as sent
        (aiosmtpd upper-cases them), for `parameters_as_sent`."""
        address, rest = parse_path(arg, self.local_part_limit, super()._getaddr)
        self.parameters_as_sent = (rest or "").split()
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
            # aiosmtpd echoes some arguments (an unknown command): made safe to send.
            text = on_the_wire(text, utf8=self.enable_SMTPUTF8)
        if self.transport is None or self.transport.is_closing():
            return  # the client is gone (uvloop raises on a write to a closed transport)
        await super().push(text)

    async def handle_exception(self, error: Exception) -> str:
        """A client that went away mid-command, or whose TLS handshake failed, is an event
        of its connection (one line, and the connection closes), not a bug; anything else
        goes to the handler (a temporary failure, logged with its traceback)."""
        session = self.gateway_session()
        if isinstance(error, TLSSetupException):
            log.info("%s TLS handshake failed: %s", session.id, error.__cause__ or error)
            return reply(*INTERNAL_ERROR).render()  # not sent: aiosmtpd closes the connection
        if isinstance(error, (EOFError, ConnectionError)) and self._client_gone():
            log.info("%s client went away", session.id)
            await self.stop_reading()
        status: str = await super().handle_exception(error)
        return status

    async def stop_reading(self) -> NoReturn:
        """Close the connection and end the command loop now: nothing more the client sent
        is read as a command. Replies already written still go out, within CLOSE_GRACE
        seconds (a client that stopped reading is cut off then); never returns."""
        transport = cast(asyncio.Transport | None, self.transport)
        if transport is not None:
            transport.close()
            self.loop.call_later(CLOSE_GRACE, transport.abort)
        assert self._handler_coroutine is not None
        self._handler_coroutine.cancel()
        await asyncio.sleep(0)  # raises CancelledError here: aiosmtpd's loop ends with it
        raise asyncio.CancelledError  # only if called outside the command loop's task

    def _client_gone(self) -> bool:
        """Whether the client closed its side (an EOFError or ConnectionError may also come
        from the upstream, whose failure the client must hear about)."""
        transport = self.transport
        return transport is None or transport.is_closing() or self._reader.at_eof()

    def _getparams(self, params: Sequence[str]) -> dict[str, str | bool] | None:
        """aiosmtpd's MAIL/RCPT parameters, but only ASCII ones (RFC 5321 esmtp-param): a
        superscript digit passed its `isdigit` check for SIZE and then failed `int`. The DSN
        ones are left out, so that aiosmtpd lets them reach the handler, which checks them."""
        if not all(param.isascii() for param in params):
            return None
        parsed = super()._getparams(params)
        return parsed and {name: value for name, value in parsed.items() if name not in KEYWORDS}

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
            too_many = reply(421, "4.7.0", TOO_MANY[refusal])
            await super().push(too_many.render())
            self._writer.close()
            return
        self._admitted = True
        self.event_handler.connection_opened(self, session)
        try:
            await super()._handle_client()
        except (ConnectionError, EOFError):  # reset while we answered, or gone before PROXY
            log.info("%s client went away", session.id)
            if self.transport is not None:
                self.transport.close()

    def eof_received(self) -> bool | None:
        """The client closed its side: the commands it sent before still get their answers
        (a client that pipelined a whole transaction, then shut its side, as Postfix
        serves it); reading on meets the end, and the connection closes. Under TLS,
        aiosmtpd's own handling stays: it stops at once."""
        if self.session is None or self.session.ssl is not None or self.tls_active():
            return super().eof_received()
        return super(SMTP, self).eof_received()

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
        """RFC 3207 resets the session: not in the middle of a mail transaction, and only
        once (EHLO no longer offers it under TLS)."""
        if self.tls_active():
            await self.push(reply(554, "5.5.1", "Error: TLS already active"))
            return
        if self.session is not None and self.gateway_session().transaction is not None:
            await self.push(reply(503, "5.5.1", "Error: MAIL transaction in progress"))
            return
        await super().smtp_STARTTLS(arg)

    @syntax("EHLO hostname")
    async def smtp_EHLO(self, hostname: str) -> None:
        """aiosmtpd's EHLO, but a name with control characters is refused: it would go into
        the Received field the gateway writes."""
        if hostname and has_control(hostname):
            await self.push(reply(501, "5.5.4", "Syntax: EHLO hostname"))
            return
        await super().smtp_EHLO(hostname)

    @syntax("HELO hostname")
    async def smtp_HELO(self, hostname: str) -> None:
        """aiosmtpd's HELO, refusing control characters as EHLO does."""
        if hostname and has_control(hostname):
            await self.push(reply(501, "5.5.4", "Syntax: HELO hostname"))
            return
        await super().smtp_HELO(hostname)

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
        attributes = xforward_attributes(arg or "")
        if isinstance(attributes, BadAttribute):
            await self.push(reply(501, "5.5.4", f"Error: bad XFORWARD attribute {attributes}"))
            return
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
                await self._abort_data(session, spool, None)
                return
            except OSError as exc:  # the spool could not be written: disk full, spool_dir
                log.error("%s message could not be spooled: %s", session.id, exc)
                await self._abort_data(session, spool, reply(*SPOOL_FAILED))
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

    async def _abort_data(self, session: GatewaySession, spool: Spool,
                          goodbye: Reply | None) -> None:
        """End a DATA that cannot be read to its end, and its connection: the rest of the
        message must never be read as commands. `goodbye` is said first when not None."""
        spool.close()
        await self.event_handler.data_aborted(session)
        if goodbye is not None:
            await self.push(goodbye)
        await self.stop_reading()

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
