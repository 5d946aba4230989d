"""aiosmtpd finds every verb and hook it looks up on each new connection, and nothing else."""

from __future__ import annotations

import asyncio
import inspect

import pytest

from gateway.config import ServerSettings
from gateway.smtp.handler import RelayHandler
from gateway.smtp.server import GatewaySMTP


def _defined(cls: type, prefix: str) -> set[str]:
    return {name for klass in cls.__mro__ for name, value in vars(klass).items()
            if name.startswith(prefix) and callable(value)}


def test_the_handler_lists_exactly_its_hooks() -> None:
    handler = RelayHandler.__new__(RelayHandler)
    listed = set(dir(handler))
    assert listed == _defined(RelayHandler, "handle_") | _defined(RelayHandler, "auth_")
    assert {"handle_EHLO", "handle_MAIL", "handle_RCPT"} <= listed


def test_the_connection_lists_every_verb_of_aiosmtpd_and_its_own() -> None:
    server = GatewaySMTP.__new__(GatewaySMTP)
    listed = set(dir(server))
    assert listed == _defined(GatewaySMTP, "smtp_") | _defined(GatewaySMTP, "auth_")
    assert {"smtp_EHLO", "smtp_MAIL", "smtp_DATA", "smtp_STARTTLS", "auth_PLAIN"} <= listed


def test_a_connection_takes_the_5_argument_ehlo_hook_without_reading_its_signature(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def unread(*_: object, **__: object) -> None:
        raise AssertionError("handle_EHLO's signature was computed for a connection")

    handler = RelayHandler.__new__(RelayHandler)
    monkeypatch.setattr(inspect, "_signature_from_function", unread)

    async def connect() -> GatewaySMTP:
        return GatewaySMTP(handler, ServerSettings(), None, [], hostname="gw.test",
                           loop=asyncio.get_running_loop())

    server = asyncio.run(connect())
    assert server._ehlo_hook_ver == "new"
    assert server._handle_hooks["EHLO"] == handler.handle_EHLO
