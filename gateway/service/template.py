"""The template the SMTP workers of `serve --workers N` are forked from.

The master has multiprocessing's fork server import this module
(`set_forkserver_preload`) and never imports it itself: the SMTP server, the
policies and the analysis are imported once, in the fork server, and every
worker forked from it (and, through the worker, its zygote and analysis
children) shares those pages copy-on-write instead of importing it all anew.
The garbage collector's objects are frozen here: no worker's collection writes
to their pages.

The template ends only with the master (the fork server's pipe to it closes). A
SIGTERM or SIGHUP sent to the whole process group (`kill -TERM -PGID`, systemd
stopping the control group) is held here, not acted on: the master learns of
its workers' exits through the template, and would otherwise take them all for
gone and exit while they still finish their transactions.
"""

from __future__ import annotations

import gc
import signal
import warnings

import gateway.service.serve  # noqa: F401  (the worker's imports, done once here)
from gateway.processes import TEMPLATE_HELD_SIGNALS, name_process

name_process("tth-template")
signal.pthread_sigmask(signal.SIG_BLOCK, TEMPLATE_HELD_SIGNALS)
# multiprocessing runs the master's main module (gateway.service.master) again in each
# worker as __mp_main__, as with "spawn"; only here it is imported already, so runpy warns.
warnings.filterwarnings("ignore", "'gateway.service.master' found in sys.modules",
                        RuntimeWarning, "runpy")
gc.collect()
gc.freeze()
