"""Run the gateway in-process on a background event loop, on real loopback sockets."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from gateway.config import Settings
from gateway.deciding.seam import Decider
from gateway.service.serve import Gateway
from tests.support.dnsserver import shared_dns
from tests.support.sink import free_port

T = TypeVar("T")


class LoopThread:
    """An asyncio loop in a daemon thread; `run` waits for a coroutine's result."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self._thread.start()

    def run(self, coro: Coroutine[Any, Any, T], timeout: float = 30) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(5)


def settings_for(upstream: str, tmp: Path, **server: Any) -> Settings:
    """Settings for a test gateway on a free loopback port; `server` overrides server keys."""
    data: dict[str, Any] = {
        "server": {"listen": [f"127.0.0.1:{free_port()}"], "hostname": "gw.test",
                   "shutdown_grace": 2.0, **server},
        "upstream": {"address": upstream, "timeout": 5.0, "connect_timeout": 2.0,
                     "starttls": "off"},
        "metrics": {"listen": None},
        "audit": {"path": str(tmp / "audit.jsonl")},
        "dns": {"resolvers": [shared_dns()]},
    }
    return Settings.model_validate(data, strict=False)


@contextmanager
def running_gateway(settings: Settings, decider: Decider | None = None) -> Iterator[Gateway]:
    loop = LoopThread()

    async def start() -> Gateway:
        gateway = Gateway(settings, decider)
        await gateway.start()
        return gateway

    gateway = loop.run(start())
    try:
        yield gateway
    finally:
        loop.run(gateway.stop())
        loop.close()
