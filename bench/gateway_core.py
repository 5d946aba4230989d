"""The gateway's relay core alone: `tth-gateway serve`'s settings, the accept-all decider.

    python bench/gateway_core.py CONFIG.yaml

The same listener, DATA reader, spool, upstream pool, audit and metrics as the
product, with no policy analysis: what the SMTP layer itself costs.
"""

from __future__ import annotations

import asyncio
import signal
import sys
from pathlib import Path

import uvloop
from processes import run_workers

from gateway.config import Settings, load_settings
from gateway.deciding.seam import AcceptAll
from gateway.service.serve import Gateway


async def serve(settings: Settings, reuse_port: bool) -> None:
    gateway = Gateway(settings, AcceptAll())
    await gateway.start(reuse_port=reuse_port)
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    await stop.wait()
    await gateway.stop()


def _worker(settings: Settings, reuse_port: bool) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    uvloop.run(serve(settings, reuse_port))


def main() -> None:
    settings = load_settings(Path(sys.argv[1]))
    workers = settings.server.workers
    if workers == 1:
        _worker(settings, False)
        return
    run_workers(_worker, (settings, True), workers)

if __name__ == "__main__":
    main()
