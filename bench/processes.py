"""Running a benchmark server in N spawned processes that share its port (SO_REUSEPORT)."""

from __future__ import annotations

import multiprocessing
import signal
from collections.abc import Callable
from typing import Any


def run_workers(target: Callable[..., None], args: tuple[Any, ...], workers: int) -> None:
    """Start `workers` processes running `target(*args)`; SIGTERM stops them all."""
    context = multiprocessing.get_context("spawn")
    children = [context.Process(target=target, args=args) for _ in range(workers)]
    for child in children:
        child.start()

    def forward(signum: int, _frame: object) -> None:
        for child in children:
            if child.is_alive():
                child.terminate()

    signal.signal(signal.SIGTERM, forward)
    for child in children:
        child.join()
