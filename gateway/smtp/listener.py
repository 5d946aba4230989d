"""Listening sockets: one aiosmtpd protocol instance per client connection."""

from __future__ import annotations

import asyncio
import ipaddress
import ssl

from gateway.config import ServerSettings, parse_hostport
from gateway.smtp.handler import RelayHandler
from gateway.smtp.limiter import ConnectionLimiter
from gateway.smtp.server import GatewaySMTP


def server_tls_context(settings: ServerSettings) -> ssl.SSLContext | None:
    """The STARTTLS context, when a certificate is configured."""
    tls = settings.tls
    if tls.certificate is None:
        return None
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    try:
        context.load_cert_chain(str(tls.certificate), str(tls.key) if tls.key else None)
    except OSError as exc:  # ssl.SSLError included: not PEM, key does not match
        key = f" with key {tls.key}" if tls.key else ""
        raise OSError(exc.errno, f"server.tls: cannot use certificate {tls.certificate}{key}: "
                                 f"{exc.strerror or exc}") from exc
    return context


async def start_listeners(
    settings: ServerSettings,
    handler: RelayHandler,
    limiter: ConnectionLimiter,
    *,
    reuse_port: bool,
) -> list[asyncio.Server]:
    """Bind every `listen` address; errors (port in use, bad certificate) propagate."""
    tls_context = server_tls_context(settings)
    trusted = [ipaddress.ip_network(item, strict=False) for item in settings.trusted_relays]
    loop = asyncio.get_running_loop()

    def factory() -> GatewaySMTP:
        return GatewaySMTP(
            handler,
            settings,
            limiter,
            trusted,
            data_size_limit=settings.max_message_size,
            enable_SMTPUTF8=settings.smtputf8,
            hostname=handler.hostname,
            ident="tth-gateway ESMTP",
            tls_context=tls_context,
            require_starttls=settings.tls.require,
            timeout=settings.command_timeout,
            proxy_protocol_timeout=10.0 if settings.proxy_protocol else None,
            loop=loop,
        )

    servers: list[asyncio.Server] = []
    try:
        for address in settings.listen:
            host, port = parse_hostport(address)
            try:
                servers.append(await loop.create_server(factory, host, port,
                                                        reuse_port=reuse_port))
            except OSError as exc:
                raise OSError(exc.errno, f"cannot listen on {address} (server.listen): "
                                         f"{exc.strerror or exc}") from exc
    except BaseException:
        for server in servers:  # the addresses bound before the one that failed
            server.close()
        raise
    return servers
