"""The zygote: one process per SMTP worker that imports the analysis once and forks the
analysis children, which share its pages copy-on-write instead of each importing it all.

An SMTP worker forks it before its event loop starts (`fork_zygote`: it then shares the
worker's pages too); a pool with none to adopt (a test, a replacement) execs
`python -m gateway.analysis.zygote FD PID`. FD is the zygote's end of a SOCK_SEQPACKET
pair, PID the worker's. Each request is a memory cap (4 bytes, MiB); the answer is the
new child's pid with two descriptors: the child's end of its job socket and a pidfd by
which the worker watches and kills it. The kernel reaps the children (SIGCHLD ignored).
Every child dies with the zygote, and the zygote with its worker (PR_SET_PDEATHSIG, and
the end of its socket).
"""

from __future__ import annotations

import gc
import logging
import os
import signal
import socket
import sys
from collections.abc import Iterable
from typing import Protocol

from gateway.analysis.child import cap_memory, serve_jobs
from gateway.analysis.forked import NUMBER, adopt_later
from gateway.processes import die_with_parent, name_process


class Closable(Protocol):
    """A socket or connection the worker holds."""

    def close(self) -> None: ...


def _child(control: socket.socket, channel: socket.socket, zygote: int, memory_mb: int) -> None:
    """In the forked child: tie it to the zygote, cap it, answer jobs, never return."""
    status = 1
    try:
        control.close()
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)  # its own subprocesses are waited for
        name_process("tth-analysis")
        die_with_parent(signal.SIGKILL, zygote)
        cap_memory(memory_mb)
        serve_jobs(channel)
        status = 0
    except BaseException:
        logging.getLogger("gateway.analysis.child").exception("analysis child failed")
    finally:
        os._exit(status)  # never the zygote's cleanup, never back into its loop


def _start_child(control: socket.socket, memory_mb: int) -> tuple[int, socket.socket, int]:
    """Fork one child: its pid, the zygote's end of its job socket, its pidfd."""
    ours, theirs = socket.socketpair()
    zygote = os.getpid()
    try:
        pid = os.fork()
    except OSError:
        ours.close()
        theirs.close()
        raise
    if pid == 0:
        ours.close()
        _child(control, theirs, zygote, memory_mb)
    theirs.close()
    try:
        return pid, ours, os.pidfd_open(pid)
    except ProcessLookupError:  # it died at once (and was reaped): its pid may be reused
        ours.close()
        raise
    except OSError:  # no pidfd for a live child (ENOSYS, EMFILE): it must not stay
        ours.close()
        os.kill(pid, signal.SIGKILL)
        raise


def _fork(control: socket.socket, memory_mb: int) -> None:
    """Fork one child and send its pid, job socket and pidfd to the worker; when the
    system refuses the fork, answer 0: the zygote and its other children carry on."""
    try:
        pid, ours, pidfd = _start_child(control, memory_mb)
    except OSError as exc:
        logging.getLogger("gateway.analysis.zygote").error(
            "could not start an analysis child: %s", exc)
        control.sendall(NUMBER.pack(0))
        return
    try:
        socket.send_fds(control, [NUMBER.pack(pid)], [ours.fileno(), pidfd])
    finally:
        ours.close()
        os.close(pidfd)


def _serve_forks(control: socket.socket) -> None:
    """Say the zygote is ready, then fork a child per request until the worker goes, however
    it goes (its end closed or reset)."""
    name_process("tth-zygote")
    logging.getLogger("pyhanko").setLevel(logging.ERROR)
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())  # a stray print() goes to the log
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # the kernel reaps the children
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the worker's to handle
    try:
        control.sendall(NUMBER.pack(os.getpid()))
        while len(request := control.recv(NUMBER.size)) == NUMBER.size:
            (memory_mb,) = NUMBER.unpack(request)
            _fork(control, memory_mb)
    except ConnectionError:  # the worker died (with our answer unread): so does its zygote
        return


def fork_zygote(inherited: Iterable[Closable]) -> None:
    """Fork this SMTP worker's zygote now, before its event loop and threads start: it
    shares the worker's imports too. The worker's first analysis pool adopts it.
    `inherited`: the worker's descriptors the zygote must not hold."""
    gc.collect()
    gc.freeze()  # neither process's collector will write to the imported objects' pages
    ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    worker = os.getpid()
    pid = os.fork()
    if pid == 0:
        status = 1
        try:
            ours.close()
            for item in inherited:
                item.close()
            die_with_parent(signal.SIGKILL, worker)
            _serve_forks(theirs)
            status = 0
        except BaseException:
            logging.getLogger("gateway.analysis.zygote").exception("analysis zygote failed")
        finally:
            os._exit(status)  # never back into the worker's code
    theirs.close()
    adopt_later(pid, ours)


def main() -> None:
    """The zygote exec'd by a pool that has none to adopt: import, freeze, serve forks."""
    die_with_parent(signal.SIGKILL, int(sys.argv[2]))
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr,
                        format="%(asctime)s analysis-worker %(name)s %(message)s")
    gc.collect()
    gc.freeze()  # the collector leaves the imported objects' pages shared with the children
    _serve_forks(socket.socket(fileno=int(sys.argv[1])))


if __name__ == "__main__":
    main()
