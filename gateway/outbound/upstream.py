"""The official mail system behind the gateway, reached with aiosmtplib, connections pooled."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Protocol

import aiosmtplib

from gateway.config import UpstreamSettings, parse_hostport
from gateway.mail.dsn import KEYWORDS as DSN_KEYWORDS
from gateway.mail.replies import Reply, from_upstream, reply
from gateway.mail.spool import Spool
from gateway.record import metrics

log = logging.getLogger("gateway.outbound.upstream")

WRITE_BLOCK = 256 * 1024


class UpstreamError(Exception):
    """The upstream could not be used; `kind` names why (for metrics and replies)."""

    def __init__(self, kind: str, detail: str) -> None:
        super().__init__(f"{kind}: {detail}")
        self.kind = kind
        self.detail = detail


class UpstreamConnection(Protocol):
    """One transaction's view of the upstream."""

    def supports(self, extension: str) -> bool: ...

    async def xforward(self, attributes: dict[str, str]) -> None: ...

    async def mail(self, sender: str, options: Iterable[str], utf8: bool) -> Reply: ...

    async def rcpt(self, recipient: str, options: Iterable[str], utf8: bool) -> Reply: ...

    async def data(self, header: bytes, spool: Spool, utf8: bool) -> Reply: ...

    async def rset(self) -> None: ...


class Upstream(Protocol):
    """Hands out connections and takes them back."""

    async def acquire(self) -> UpstreamConnection: ...

    async def release(self, connection: UpstreamConnection, *, reusable: bool) -> None: ...

    async def close(self) -> None: ...


def mail_parameters(connection: UpstreamConnection, options: list[str]) -> list[str] | Reply:
    """The MAIL (or RCPT) parameters the upstream understands, or why the message cannot go
    there. Without DSN upstream its parameters are left out (RFC 3461 5.2.1: a relay that
    cannot pass them on drops them)."""
    forwarded = []
    for option in options:
        if not option.isascii():
            return reply(501, "5.5.4", "MAIL parameters must be ASCII")
        name, _, value = option.partition("=")
        if name == "SMTPUTF8" and not connection.supports("smtputf8"):
            return reply(553, "5.6.7", "SMTPUTF8 is not supported by the destination")
        if name == "BODY" and value == "8BITMIME" and not connection.supports("8bitmime"):
            return reply(554, "5.6.3", "8-bit content is not supported by the destination")
        if name in ("SIZE", "BODY") and not connection.supports(
            "size" if name == "SIZE" else "8bitmime"
        ):
            continue
        if name in DSN_KEYWORDS and not connection.supports("dsn"):
            continue
        forwarded.append(option)
    return forwarded


async def reset(connection: UpstreamConnection) -> bool:
    """RSET after a transaction that sent no message: True when the connection may be
    pooled again, False when the upstream failed (then it is closed on release)."""
    try:
        await connection.rset()
    except UpstreamError:
        return False
    return True


def _address_bytes(address: str) -> bytes:
    return b"<>" if address in ("", "<>") else b"<" + address.encode("utf-8") + b">"


def _xtext(value: str) -> str:
    """RFC 3461 xtext, as XFORWARD expects."""
    return "".join(
        ch if 33 <= ord(ch) <= 126 and ch not in "+=" else "".join(f"+{b:02X}" for b in ch.encode())
        for ch in value
    )


@dataclass(eq=False)
class SmtpConnection:
    """One pooled aiosmtplib connection."""

    client: aiosmtplib.SMTP
    timeout: float
    last_used: float = field(default_factory=time.monotonic)

    def supports(self, extension: str) -> bool:
        return self.client.supports_extension(extension)

    @property
    def alive(self) -> bool:
        return self.client.is_connected

    async def _command(self, *args: bytes) -> Reply:
        try:
            response = await self.client.execute_command(*args, timeout=self.timeout)
        except aiosmtplib.SMTPTimeoutError as exc:
            raise UpstreamError("timeout", str(exc)) from exc
        except aiosmtplib.SMTPServerDisconnected as exc:
            raise UpstreamError("disconnected", str(exc)) from exc
        except aiosmtplib.SMTPResponseException as exc:
            raise UpstreamError("protocol", str(exc)) from exc
        return from_upstream(response.code, response.message, utf8=True)

    async def xforward(self, attributes: dict[str, str]) -> None:
        offered = set(self.client.esmtp_extensions.get("xforward", "").upper().split())
        parts = [
            f"{name}={_xtext(value)}".encode("ascii")
            for name, value in attributes.items()
            if name in offered
        ]
        if parts:
            answer = await self._command(b"XFORWARD", *parts)
            if not answer.is_success:
                log.warning("upstream refused XFORWARD: %s", answer.render())

    async def mail(self, sender: str, options: Iterable[str], utf8: bool) -> Reply:
        params = [option.encode("ascii") for option in options]
        return await self._command(b"MAIL", b"FROM:" + _address_bytes(sender), *params)

    async def rcpt(self, recipient: str, options: Iterable[str], utf8: bool) -> Reply:
        params = [option.encode("ascii") for option in options]
        return await self._command(b"RCPT", b"TO:" + _address_bytes(recipient), *params)

    async def data(self, header: bytes, spool: Spool, utf8: bool) -> Reply:
        start = await self._command(b"DATA")
        if start.code != 354:
            # A refused DATA leaves the upstream's transaction open (its next MAIL would be a
            # "503 nested MAIL"): ended here, or the connection is not fit to be pooled.
            try:
                await self.rset()
            except UpstreamError:
                self.client.close()
            return start
        try:
            async with asyncio.timeout(self.timeout):
                await self._stream(header, spool)
            response = await self.client.protocol.read_response(  # type: ignore[union-attr]
                timeout=self.timeout
            )
        except (aiosmtplib.SMTPTimeoutError, TimeoutError) as exc:
            self.client.close()
            raise UpstreamError("timeout", str(exc) or "upstream stopped reading") from exc
        except (aiosmtplib.SMTPException, ConnectionError, AttributeError) as exc:
            self.client.close()
            raise UpstreamError("disconnected", str(exc)) from exc
        return from_upstream(response.code, response.message, utf8=True)

    async def _stream(self, header: bytes, spool: Spool) -> None:
        """Write the message (already in wire form) and the terminator, with flow control.

        aiosmtplib's own `data()` wants the whole message in memory and copies
        it three times; the gateway streams the spool through its protocol, in
        writes of about WRITE_BLOCK (a small message is one write, trace header
        and terminator included).
        """
        protocol = self.client.protocol
        if protocol is None:
            raise aiosmtplib.SMTPServerDisconnected("connection lost")
        protocol._response_pending = True
        pending = bytearray(header)
        for chunk in spool.chunks():
            pending += chunk
            if len(pending) >= WRITE_BLOCK:
                protocol.write(bytes(pending))
                pending.clear()
                await protocol._drain_helper()
        pending += b".\r\n"
        protocol.write(bytes(pending))
        await protocol._drain_helper()

    async def rset(self) -> None:
        await self._command(b"RSET")


class SmtpUpstream:
    """A pool of SMTP connections to one upstream host.

    The pool owns every connection it hands out until it is released, once:
    a second release of the same connection is ignored, so whichever of the
    client's goodbye and a command in flight ends first gives it back.
    """

    def __init__(self, settings: UpstreamSettings, hostname: str) -> None:
        self._settings = settings
        self._host, self._port = parse_hostport(settings.address, 25)
        self._hostname = settings.helo or hostname
        self._idle: list[SmtpConnection] = []
        self._in_use: set[SmtpConnection] = set()
        self._tls_context = self._client_tls_context(settings)

    @staticmethod
    def _client_tls_context(settings: UpstreamSettings) -> ssl.SSLContext | None:
        if settings.starttls == "off":
            return None
        context = ssl.create_default_context(
            cafile=str(settings.ca_file) if settings.ca_file else None
        )
        if not settings.verify_certificate:
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        return context

    async def _connect(self) -> SmtpConnection:
        starttls = {"off": False, "opportunistic": None, "require": True}[self._settings.starttls]
        client = aiosmtplib.SMTP(
            hostname=self._host,
            port=self._port,
            timeout=self._settings.connect_timeout,
            local_hostname=self._hostname,
            start_tls=starttls,
            tls_context=self._tls_context,
        )
        try:
            await client.connect()
            await client.ehlo()
        except asyncio.CancelledError:
            client.close()
            raise
        except aiosmtplib.SMTPConnectError as exc:
            raise UpstreamError("connect", str(exc)) from exc
        except aiosmtplib.SMTPTimeoutError as exc:
            client.close()
            raise UpstreamError("timeout", str(exc)) from exc
        except (aiosmtplib.SMTPException, ssl.SSLError, OSError) as exc:
            client.close()
            kind = "tls" if isinstance(exc, ssl.SSLError) or "TLS" in str(exc) else "connect"
            raise UpstreamError(kind, str(exc)) from exc
        return SmtpConnection(client, self._settings.timeout)

    async def acquire(self) -> SmtpConnection:
        now = time.monotonic()
        while self._idle:
            connection = self._idle.pop()
            metrics.UPSTREAM_CONNECTIONS.labels("idle").dec()
            if connection.alive and now - connection.last_used < self._settings.pool_idle_seconds:
                return self._lend(connection)
            connection.client.close()
        return self._lend(await self._connect())

    def _lend(self, connection: SmtpConnection) -> SmtpConnection:
        self._in_use.add(connection)
        metrics.UPSTREAM_CONNECTIONS.labels("in_use").inc()
        return connection

    async def release(self, connection: UpstreamConnection, *, reusable: bool) -> None:
        """Pool or close a connection handed out by `acquire`; later releases do nothing."""
        assert isinstance(connection, SmtpConnection)
        if connection not in self._in_use:
            return
        self._in_use.discard(connection)
        metrics.UPSTREAM_CONNECTIONS.labels("in_use").dec()
        if reusable and connection.alive and len(self._idle) < self._settings.pool_size:
            connection.last_used = time.monotonic()
            self._idle.append(connection)
            metrics.UPSTREAM_CONNECTIONS.labels("idle").inc()
        else:
            await self._quit(connection)

    @staticmethod
    async def _quit(connection: SmtpConnection) -> None:
        """QUIT politely (bounded); the socket is closed even when this task is cancelled."""
        try:
            if connection.alive:
                with contextlib.suppress(aiosmtplib.SMTPException, TimeoutError, OSError):
                    await asyncio.wait_for(connection.client.quit(), 2)
        finally:
            connection.client.close()

    async def close(self) -> None:
        idle, self._idle = self._idle, []
        metrics.UPSTREAM_CONNECTIONS.labels("idle").dec(len(idle))
        await asyncio.gather(*(self._quit(connection) for connection in idle))
