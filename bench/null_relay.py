"""The floor Python sets: a plain aiosmtpd relay, pooled aiosmtplib upstream, uvloop, no policy.

    python bench/null_relay.py --listen 127.0.0.1:PORT --upstream 127.0.0.1:PORT [--workers N]
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import socket

import aiosmtplib
import uvloop
from aiosmtpd.smtp import SMTP, Envelope, Session
from processes import run_workers


class PooledForwarder:
    """aiosmtpd handler: forward each message as aiosmtpd received it, over pooled connections."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.idle: list[aiosmtplib.SMTP] = []

    async def _acquire(self) -> aiosmtplib.SMTP:
        while self.idle:
            client = self.idle.pop()
            if client.is_connected:
                return client
        client = aiosmtplib.SMTP(hostname=self.host, port=self.port, start_tls=False)
        await client.connect()
        return client

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        client = await self._acquire()
        try:
            await client.sendmail(envelope.mail_from, envelope.rcpt_tos,
                                  envelope.original_content)
        except aiosmtplib.SMTPException as exc:
            client.close()
            return f"451 4.4.2 upstream: {exc}"
        self.idle.append(client)
        return "250 2.0.0 Ok"


async def serve(host: str, port: int, upstream: tuple[str, int], reuse_port: bool) -> None:
    handler = PooledForwarder(*upstream)
    loop = asyncio.get_running_loop()

    def factory() -> SMTP:
        return SMTP(handler, data_size_limit=None, enable_SMTPUTF8=True, hostname="null.test")

    server = await loop.create_server(factory, host, port, reuse_port=reuse_port,
                                      family=socket.AF_INET)
    stop = asyncio.Event()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    await stop.wait()
    server.close()


def _worker(host: str, port: int, upstream: tuple[str, int], reuse_port: bool) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    uvloop.run(serve(host, port, upstream, reuse_port))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--listen", required=True)
    parser.add_argument("--upstream", required=True)
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args()
    host, port = args.listen.rsplit(":", 1)
    up_host, up_port = args.upstream.rsplit(":", 1)
    upstream = (up_host, int(up_port))
    if args.workers == 1:
        _worker(host, int(port), upstream, False)
        return
    run_workers(_worker, (host, int(port), upstream, True), args.workers)


if __name__ == "__main__":
    main()
