"""Fixtures for relay tests: the gateway with the accept-all decider, so no policy interferes.

Import both names into a test module to override the shared `gateway_at` and `gateway`.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from gateway.deciding.seam import AcceptAll, Decider
from gateway.service.serve import Gateway
from tests.support.sink import Sink

POLICIES = Path(__file__).resolve().parents[2] / "policies"


@pytest.fixture
def gateway_at(gateway_at: Callable[..., Gateway]) -> Callable[..., Gateway]:
    """The shared factory, with `AcceptAll` unless a decider is given."""

    def start(upstream: str, *, decider: Decider | None = None, **server: Any) -> Gateway:
        return gateway_at(upstream, decider=decider or AcceptAll(), **server)

    return start


@pytest.fixture
def gateway(sink: Sink, gateway_at: Callable[..., Gateway]) -> tuple[str, int]:
    return gateway_at(sink.address).addresses()[0]


def accept_all_policies(directory: Path) -> Path:
    """A policy folder with the shipped lists and settings and no rules (for `serve`)."""
    directory.mkdir(parents=True, exist_ok=True)
    for source in POLICIES.glob("*.yaml"):
        if source.name != "rules.yaml":
            (directory / source.name).write_bytes(source.read_bytes())
    (directory / "rules.yaml").write_text("rules: []\n")
    return directory
