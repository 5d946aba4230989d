"""aiosmtpd's SMTP protocol, with the gateway's DATA reader, XFORWARD and reply discipline.

The protocol does SMTP I/O only; every decision is made by the handler's hooks.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import re
from collections.abc import Sequence
from typing import Any, AnyStr

from aiosmtpd.smtp import SMTP, syntax

from gateway.config import ServerSettings
from gateway.smtp.dataread import read_data
from gateway.smtp.replies import Reply, reply, with_enhanced
from gateway.smtp.session import GatewaySession
from gateway.smtp.spool import Spool

log = logging.getLogger("gateway.smtp.server")

XFORWARD_ATTRIBUTES = ("NAME", "ADDR", "PORT", "PROTO", "HELO", "IDENT", "SOURCE")
Network = ipaddress.IPv4Network | ipaddress.IPv6Network
_XTEXT_HEX = re.compile(rb"\+([0-9A-Fa-f]{2})")


def in_networks(address: str | None, networks: Sequence[Network]) -> bool:
    if not address:
        return False
    try:
        ip = ipaddress.ip_address(address.split("%")[0])
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    return any(ip in network for network in networks)


def xtext_decode(value: str) -> str:
    """RFC 3461 xtext (`+2B` for '+'), as XFORWARD values are sent."""
    raw = value.encode("utf-8", "surrogateescape")
    decoded = _XTEXT_HEX.sub(lambda match: bytes([int(match[1], 16)]), raw)
    return decoded.decode("utf-8", "replace")


class ConnectionLimiter:
    """Counts open connections, in all and per client address, for one worker."""

    def __init__(self, total: int, per_ip: int) -> None:
        self.total = total
        self.per_ip = per_ip
        self.open: set[GatewaySMTP] = set()
        self._by_ip: dict[str, int] = {}

    def admit(self, protocol: GatewaySMTP, ip: str | None) -> str | None:
        """Register the connection, or say why it is refused."""
        if len(self.open) >= self.total:
            return "total"
        key = ip or "?"
        if self._by_ip.get(key, 0) >= self.per_ip:
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
        super().__init__(handler, **kwargs)

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

    async def push(self, status: AnyStr | Reply) -> None:
        """Every reply leaves through here; aiosmtpd's own get an enhanced code."""
        if isinstance(status, Reply):
            text: str | bytes = status.render()
        elif isinstance(status, str):
            text = "\r\n".join(with_enhanced(line) for line in status.split("\r\n"))
        else:
            text = status
        if isinstance(text, bytes):
            await super().push(text)
        else:
            await super().push(text)

    async def _handle_client(self) -> None:
        session = self.gateway_session()
        session.client.ip = self.peer_ip()
        refusal = self.limiter.admit(self, self.peer_ip())
        if refusal is not None:
            self.event_handler.connection_refused(refusal)
            too_many = reply(421, "4.7.0", "Too many connections, try again later")
            await super().push(too_many.render())
            self._writer.close()
            return
        self._admitted = True
        self.event_handler.connection_opened(self, session)
        await super()._handle_client()

    def connection_lost(self, error: Exception | None) -> None:
        if self._admitted and self.session is not None:
            self._admitted = False
            self.limiter.leave(self, self.gateway_session().client.ip)
            self.event_handler.connection_closed(self, self.gateway_session())
        super().connection_lost(error)

    def shutdown(self) -> None:
        """Close now if idle; otherwise after the transaction in flight ends."""
        self.closing = True
        if self.session is not None and not self.gateway_session().busy and self.transport:
            goodbye = reply(421, "4.3.2", "Service shutting down").render()
            self._writer.write(goodbye.encode() + b"\r\n")
            self.transport.close()

    async def close_if_closing(self) -> None:
        if self.closing and self.transport is not None:
            await super().push(reply(421, "4.3.2", "Service shutting down").render())
            self.transport.close()

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
                )
            except (asyncio.IncompleteReadError, ConnectionError):
                log.info("%s client went away during DATA", session.id)
                await self.event_handler.data_aborted(session)
                if self.transport is not None:
                    self.transport.close()
                return
            self._reset_timeout()
            status = await self.event_handler.handle_message(
                self, session, envelope, spool, result
            )
        finally:
            spool.close()
            session.in_data = False
        self._set_post_data_state()  # type: ignore[no-untyped-call]
        await self.push(status)
        await self.close_if_closing()
