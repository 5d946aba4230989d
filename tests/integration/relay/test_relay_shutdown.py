"""Stopping the gateway: every session still open hears 421 4.3.2 before its connection closes."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from gateway.service.serve import Gateway
from tests.support.sink import Sink
from tests.support.wire import Wire

SHUTTING_DOWN = (421, "4.3.2")


def _stop_in_background(gateway: Gateway) -> asyncio.Future[None]:
    loop = gateway.servers[0].get_loop()
    return asyncio.run_coroutine_threadsafe(gateway.stop(), loop)  # type: ignore[return-value]


def test_sessions_idle_in_a_transaction_or_resetting_hear_421(
    sink: Sink, gateway_at: Callable[..., Gateway]
) -> None:
    gateway = gateway_at(sink.address, shutdown_grace=1.0)
    address = gateway.addresses()[0]
    with Wire(address) as idle, Wire(address) as silent, Wire(address) as resetting:
        for wire in (idle, silent, resetting):
            wire.start()
        assert silent.command("MAIL FROM:<a@x.test>").code == 250
        assert resetting.command("MAIL FROM:<a@x.test>").code == 250
        stopping = _stop_in_background(gateway)
        answer = idle.reply()
        assert (answer.code, answer.lines[0][:5]) == SHUTTING_DOWN
        assert resetting.command("RSET").code == 250
        answer = resetting.reply()
        assert (answer.code, answer.lines[0][:5]) == SHUTTING_DOWN
        answer = silent.reply()  # at the end of the grace period
        assert (answer.code, answer.lines[0][:5]) == SHUTTING_DOWN
        for wire in (idle, silent, resetting):
            assert wire.closed()
        stopping.result(30)
