"""Upstream connections have one owner: clients that vanish mid-command leak none."""

from __future__ import annotations

import gc
import logging
import socket
import time
from collections.abc import Callable

import pytest

from gateway.service.serve import Gateway
from tests.support.live import IDLE, IN_USE, metric
from tests.support.sink import Sink
from tests.support.wire import Wire, reset

PIPELINED = b"EHLO x\r\nMAIL FROM:<a@x.test>\r\nRCPT TO:<b@x.test>\r\n"


def settle(sink: Sink, expected: Callable[[], float], seconds: float = 20.0) -> None:
    """Wait until the upstream holds exactly the connections the pool keeps idle."""
    deadline = time.monotonic() + seconds
    while sink.held_by_clients() != expected() and time.monotonic() < deadline:
        time.sleep(0.05)


def test_vanishing_pipelining_clients_leak_no_upstream_connection(
    loop_kind: str, sink: Sink, gateway_at: Callable[..., Gateway],
    caplog: pytest.LogCaptureFixture,
) -> None:
    in_use_before, idle_before = metric("tth_upstream_connections", IN_USE), metric(
        "tth_upstream_connections", IDLE)
    gateway = gateway_at(sink.address, max_connections=500, max_connections_per_ip=500)
    address = gateway.addresses()[0]
    caplog.set_level(logging.WARNING)
    for number in range(200):
        sock = socket.create_connection(address, timeout=10)
        sock.recv(512)  # the banner
        sock.sendall(PIPELINED)
        if number % 3 == 0:  # let some MAIL commands reach the upstream before the reset
            time.sleep(0.002)
        reset(sock)
    assert sink.connections > 0, "no MAIL reached the upstream: the test proves nothing"

    def idle() -> float:
        return metric("tth_upstream_connections", IDLE) - idle_before

    settle(sink, idle)
    assert sink.held_by_clients() == idle()
    assert metric("tth_upstream_connections", IN_USE) == in_use_before
    with Wire(address) as wire:  # the gateway still serves
        wire.reply()
        assert wire.command("EHLO x").code == 250
        assert wire.command("MAIL FROM:<a@x.test>").code == 250
        assert wire.command("QUIT").code == 221
    gc.collect()  # "Task exception was never retrieved" is logged when the task is collected
    errors = [record for record in caplog.records if record.levelno >= logging.ERROR
              or record.exc_info or "never retrieved" in record.getMessage()]
    assert not errors, [record.getMessage() for record in errors]


def test_an_abandoned_transaction_returns_its_connection_to_the_pool(
    sink: Sink, gateway_at: Callable[..., Gateway]
) -> None:
    in_use_before = metric("tth_upstream_connections", IN_USE)
    gateway = gateway_at(sink.address)
    opened = sink.connections  # the sink's own readiness probe counts too
    with Wire(gateway.addresses()[0]) as wire:
        wire.reply()
        wire.command("EHLO x")
        assert wire.command("MAIL FROM:<a@x.test>").code == 250
        assert metric("tth_upstream_connections", IN_USE) == in_use_before + 1
        assert wire.command("RSET").code == 250
        assert metric("tth_upstream_connections", IN_USE) == in_use_before
        assert wire.command("MAIL FROM:<a@x.test>").code == 250
        wire.command("QUIT")
    assert sink.connections == opened + 1  # the RSET connection was pooled and reused


@pytest.mark.parametrize("greeting", ["EHLO x", "HELO x"])
def test_a_new_greeting_inside_a_transaction_ends_it_and_releases_its_connection(
    sink: Sink, gateway_at: Callable[..., Gateway], greeting: str
) -> None:
    """EHLO and HELO reset the transaction (RFC 5321 4.1.4): the next MAIL starts a new one,
    so the old one's upstream connection must go back first, not be forgotten in use."""
    in_use_before = metric("tth_upstream_connections", IN_USE)
    gateway = gateway_at(sink.address)
    with Wire(gateway.addresses()[0]) as wire:
        wire.reply()
        wire.command("EHLO x")
        for _ in range(3):
            assert wire.command("MAIL FROM:<a@x.test>").code == 250
            assert metric("tth_upstream_connections", IN_USE) == in_use_before + 1
            assert wire.command(greeting).code == 250
            assert metric("tth_upstream_connections", IN_USE) == in_use_before
        wire.command("QUIT")
    assert metric("tth_upstream_connections", IN_USE) == in_use_before
