"""Once the upstream has answered the message, the client gets that answer, whatever the timers."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable

from gateway.service.serve import Gateway
from tests.support.sink import Sink
from tests.support.wire import Wire

MESSAGE = b"From: a@x.test\r\nSubject: t\r\n\r\nbody\r\n"


class LoopHog:
    """Blocks an event loop for `block` seconds in every iteration, as a loaded worker is:
    each iteration then outlasts a shorter command timeout, so the timer is always due."""

    def __init__(self, loop: asyncio.AbstractEventLoop, block: float) -> None:
        self.loop = loop
        self.block = block
        self.stopped = threading.Event()

    def start(self) -> None:
        self.loop.call_soon_threadsafe(self._step)

    def _step(self) -> None:
        if self.stopped.is_set():
            return
        time.sleep(self.block)
        self.loop.call_soon(self._step)


def test_reply_of_the_upstream_wins_over_a_due_command_timer(
    sink: Sink, gateway_at: Callable[..., Gateway]
) -> None:
    gateway = gateway_at(sink.address, command_timeout=0.05, data_timeout=30)
    hog = LoopHog(gateway.servers[0].get_loop(), block=0.1)
    sink.behaviour.on_data = hog.start  # load starts while the relay waits for the upstream
    sink.behaviour.data_delay = 0.3
    try:
        with Wire(gateway.addresses()[0]) as wire:
            # One pipelined write: the command timer has no time to fire before DATA.
            wire.send(b"EHLO x\r\nMAIL FROM:<a@x.test>\r\nRCPT TO:<b@x.test>\r\nDATA\r\n")
            codes = [wire.reply().code for _ in range(5)]
            assert codes == [220, 250, 250, 250, 354]
            wire.send(MESSAGE + b".\r\n")
            answer = wire.reply()
    finally:
        hog.stopped.set()
    assert len(sink.messages) == 1
    assert (answer.code, answer.lines[0][:5]) == (250, "2.0.0"), answer
