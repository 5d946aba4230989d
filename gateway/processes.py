"""Process helpers shared by the service's workers and the analysis children."""

from __future__ import annotations

import ctypes
import logging
import os
import signal
import sys

log = logging.getLogger("gateway.processes")

PR_SET_PDEATHSIG = 1
PR_SET_NAME = 15
#: Held (blocked) in the workers' template, which must end only with the master; each
#: worker releases them first thing, and receives any that arrived meanwhile.
TEMPLATE_HELD_SIGNALS = frozenset({signal.SIGTERM, signal.SIGHUP})


def die_with_parent(signum: int = signal.SIGTERM, parent: int | None = None) -> None:
    """Ask the kernel to send `signum` to this process when its parent dies (Linux); if the
    `parent` pid is already gone (it died before we asked), take the signal now."""
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(PR_SET_PDEATHSIG, signum, 0, 0, 0) != 0:
            log.warning("prctl(PR_SET_PDEATHSIG) failed: errno %d", ctypes.get_errno())
    if parent is not None and os.getppid() != parent:
        os.kill(os.getpid(), signum)


def name_process(name: str) -> None:
    """Name this process for ps and /proc/PID/comm (Linux; at most 15 bytes kept)."""
    if sys.platform.startswith("linux"):
        ctypes.CDLL(None).prctl(PR_SET_NAME, name.encode()[:15], 0, 0, 0)
