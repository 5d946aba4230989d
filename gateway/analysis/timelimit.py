"""Wall-clock limits for one document's parsing.

Two layers: a cooperative `Deadline` that extractors check between pages and
members, and, when running in a process's main thread (as in the worker
pool), a SIGALRM timer that interrupts a parser stuck inside one page. The
timer is armed only for the duration of the call and the previous handler
and any outer timer (pytest-timeout's, for instance) are restored.
"""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from types import FrameType


class TimeLimitExceeded(BaseException):
    """A document's parsing ran out of time.

    A BaseException, so that parsers' `except Exception` cannot swallow it.
    """


@dataclass(frozen=True, slots=True)
class Deadline:
    """A point in monotonic time after which work on a document stops."""

    at: float

    @classmethod
    def after(cls, seconds: float) -> Deadline:
        return cls(time.monotonic() + seconds)

    def expired(self) -> bool:
        return time.monotonic() >= self.at

    def check(self) -> None:
        """Raise `TimeLimitExceeded` once the deadline has passed."""
        if self.expired():
            raise TimeLimitExceeded


@contextmanager
def alarm(seconds: float) -> Iterator[None]:
    """Interrupt the block after `seconds` with `TimeLimitExceeded` (main thread only)."""
    if seconds <= 0 or threading.current_thread() is not threading.main_thread():
        yield
        return
    outer_delay, outer_interval = signal.getitimer(signal.ITIMER_REAL)
    if outer_delay and outer_delay <= seconds:
        yield
        return
    previous = signal.signal(signal.SIGALRM, _raise_time_limit)
    started = time.monotonic()
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
        if outer_delay:
            remaining = max(outer_delay - (time.monotonic() - started), 0.001)
            signal.setitimer(signal.ITIMER_REAL, remaining, outer_interval)


def _raise_time_limit(signum: int, frame: FrameType | None) -> None:
    raise TimeLimitExceeded
