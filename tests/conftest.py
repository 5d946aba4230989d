"""Shared fixtures: a real upstream sink and the gateway on loopback sockets."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest

from gateway.deciding.seam import Decider
from gateway.service.serve import Gateway
from tests.support.running import running_gateway, settings_for
from tests.support.sink import Sink


@pytest.fixture
def sink() -> Iterator[Sink]:
    server = Sink()
    server.start()
    yield server
    server.stop()


GatewayFactory = Callable[..., tuple[str, int]]


@pytest.fixture
def gateway_at(tmp_path: Path) -> Iterator[Callable[..., Gateway]]:
    """Start a gateway relaying to `upstream`; keyword arguments override server settings."""
    with ExitStack() as stack:

        def start(upstream: str, *, decider: Decider | None = None, **server: Any) -> Gateway:
            settings = settings_for(upstream, tmp_path, **server)
            return stack.enter_context(running_gateway(settings, decider))

        yield start


@pytest.fixture
def gateway(sink: Sink, gateway_at: Callable[..., Gateway]) -> tuple[str, int]:
    """A gateway with default settings in front of the sink: its (host, port)."""
    return gateway_at(sink.address).addresses()[0]
