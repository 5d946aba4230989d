"""A real upstream SMTP server for the tests: aiosmtpd on loopback, recording what it gets."""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    content: bytes
    mail_options: list[str]
    xforward: dict[str, str]


@dataclass
class SinkBehaviour:
    """How the sink answers; tests change these between messages."""

    refuse_rcpt: dict[str, str] = field(default_factory=dict)
    mail_reply: str | None = None
    data_reply: str | None = None
    #: The answer to the DATA command itself instead of 354 (the transaction stays open).
    data_command_reply: str | None = None
    data_delay: float = 0.0
    drop_at_data_end: bool = False
    xforward: bool = True
    #: Offer DSN (RFC 3461) at EHLO and take its parameters.
    dsn: bool = False
    #: Called (in the sink's thread) when a message's data is complete, before answering.
    on_data: Callable[[], None] | None = None


class _SinkSMTP(SMTP):  # type: ignore[misc]
    def __init__(self, sink: Sink, *args: Any, **kwargs: Any) -> None:
        self._sink = sink
        super().__init__(*args, **kwargs)
        self.xforward: dict[str, str] = {}

    async def smtp_XFORWARD(self, arg: str) -> None:
        for item in arg.split():
            name, _, value = item.partition("=")
            self.xforward[name] = value
        await self.push("250 2.0.0 Ok")

    def _getaddr(self, arg: str) -> tuple[str | None, str | None]:
        address, rest = super()._getaddr(arg)
        self._sink.parameters.append(rest or "")  # as sent: aiosmtpd upper-cases them
        return address, rest

    def _getparams(self, params: list[str]) -> dict[str, str | bool] | None:
        parsed = super()._getparams(params)
        if parsed is None or not self._sink.behaviour.dsn:
            return parsed
        return {name: value for name, value in parsed.items()
                if name not in ("RET", "ENVID", "NOTIFY", "ORCPT")}

    async def smtp_DATA(self, arg: str) -> None:
        refusal = self._sink.behaviour.data_command_reply
        if refusal is not None and self.envelope.rcpt_tos:
            await self.push(refusal)
            return
        await super().smtp_DATA(arg)


class _Handler:
    def __init__(self, sink: Sink) -> None:
        self.sink = sink

    async def handle_EHLO(self, server: _SinkSMTP, session: Session, envelope: Envelope,
                          hostname: str, responses: list[str]) -> list[str]:
        session.host_name = hostname
        extra = ["250-XFORWARD NAME ADDR PROTO HELO"] if self.sink.behaviour.xforward else []
        extra += ["250-DSN"] if self.sink.behaviour.dsn else []
        return [*responses[:-1], *extra, responses[-1]]

    async def handle_MAIL(self, server: _SinkSMTP, session: Session, envelope: Envelope,
                          address: str, options: list[str]) -> str:
        if self.sink.behaviour.mail_reply:
            return self.sink.behaviour.mail_reply
        envelope.mail_from = address
        envelope.mail_options.extend(options)
        return "250 2.1.0 Ok"

    async def handle_RCPT(self, server: _SinkSMTP, session: Session, envelope: Envelope,
                          address: str, options: list[str]) -> str:
        refusal = self.sink.behaviour.refuse_rcpt.get(address)
        if refusal:
            return refusal
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 Ok"

    async def handle_DATA(self, server: _SinkSMTP, session: Session, envelope: Envelope) -> str:
        behaviour = self.sink.behaviour
        if behaviour.on_data is not None:
            behaviour.on_data()
        if behaviour.data_delay:
            await asyncio.sleep(behaviour.data_delay)
        if behaviour.drop_at_data_end:
            server.transport.close()
            return "421 4.3.0 closing"
        if behaviour.data_reply:
            return behaviour.data_reply
        self.sink.messages.append(
            Received(
                envelope.mail_from,
                list(envelope.rcpt_tos),
                envelope.original_content,
                list(envelope.mail_options),
                dict(server.xforward),
            )
        )
        self.sink.arrived.set()
        return f"250 2.0.0 Ok: queued as Q{len(self.sink.messages)}"


class Sink(Controller):  # type: ignore[misc]
    """The upstream mail system stand-in (a real SMTP server on 127.0.0.1)."""

    def __init__(self, *, smtputf8: bool = True, port: int | None = None) -> None:
        self.behaviour = SinkBehaviour()
        self.messages: list[Received] = []
        #: The parameters of every MAIL and RCPT (and VRFY) received, as sent.
        self.parameters: list[str] = []
        self.connections = 0
        self.arrived = threading.Event()
        self._smtputf8 = smtputf8
        super().__init__(_Handler(self), hostname="127.0.0.1", port=port or free_port())

    def factory(self) -> _SinkSMTP:
        self.connections += 1
        return _SinkSMTP(self, self.handler, enable_SMTPUTF8=self._smtputf8,
                         hostname="sink.test", data_size_limit=None)

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def held_by_clients(self) -> int:
        """TCP connections to this sink that a client (the gateway) has not closed yet:
        ESTABLISHED or CLOSE_WAIT on the client's side, read from /proc/net/tcp."""
        count = 0
        for table in ("/proc/net/tcp", "/proc/net/tcp6"):
            with open(table, encoding="ascii") as lines:
                for line in list(lines)[1:]:
                    fields = line.split()
                    if int(fields[2].rsplit(":", 1)[1], 16) == self.port and \
                            fields[3] in ("01", "08"):
                        count += 1
        return count
