"""The relay tests are about SMTP, not policy: their gateways use the accept-all decider
(these fixtures override the shared `gateway_at` and `gateway` of tests/conftest.py)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from gateway.deciding.seam import AcceptAll, Decider
from gateway.service.serve import Gateway
from tests.support.sink import Sink


@pytest.fixture
def gateway_at(gateway_at: Callable[..., Gateway]) -> Callable[..., Gateway]:
    """The shared factory, with `AcceptAll` unless a decider is given."""

    def start(upstream: str, *, decider: Decider | None = None, **server: Any) -> Gateway:
        return gateway_at(upstream, decider=decider or AcceptAll(), **server)

    return start


@pytest.fixture
def gateway(sink: Sink, gateway_at: Callable[..., Gateway]) -> tuple[str, int]:
    return gateway_at(sink.address).addresses()[0]
