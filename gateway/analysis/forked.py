"""The SMTP worker's side of its zygote: start it, have it fork analysis children, and
watch and kill each child through its pidfd (it is the zygote's child, not ours)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import select
import signal
import socket
import struct
import sys

#: A request: the child's memory cap in MiB. An answer: the child's pid (0: none started).
NUMBER = struct.Struct(">I")
class NoChild(OSError):
    """The zygote is alive but could not start a child this time (fork refused)."""


#: The zygote this worker forked before its event loop (pid, control socket), not yet adopted.
_forked_early: list[tuple[int, socket.socket]] = []


def adopt_later(pid: int, control: socket.socket) -> None:
    """Keep a zygote forked by this process for the first `Zygote` to start."""
    _forked_early.append((pid, control))


async def _readable(fd: int) -> None:
    """Wait until `fd` is readable (a pidfd: its process has exited)."""
    loop = asyncio.get_running_loop()
    ready = loop.create_future()

    def wake() -> None:
        if not ready.done():
            ready.set_result(None)

    loop.add_reader(fd, wake)
    try:
        await ready
    finally:
        loop.remove_reader(fd)


async def _reap(pid: int) -> None:
    """Kill and reap a zygote this process forked."""
    try:
        pidfd = os.pidfd_open(pid)
    except ProcessLookupError:
        return
    try:
        with contextlib.suppress(ProcessLookupError):
            signal.pidfd_send_signal(pidfd, signal.SIGKILL)
        await _readable(pidfd)
    finally:
        os.close(pidfd)
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, 0)


class ForkedChild:
    """An analysis child: its pid, its job socket as streams, and its pidfd."""

    def __init__(self, pid: int, pidfd: int, reader: asyncio.StreamReader,
                 writer: asyncio.StreamWriter) -> None:
        self.pid, self.pidfd = pid, pidfd
        self.reader, self.writer = reader, writer

    @property
    def alive(self) -> bool:
        """False once the child has exited (its pidfd polls readable)."""
        if self.pidfd < 0:
            return False
        poller = select.poll()  # not select(): a busy worker's descriptors pass 1024
        poller.register(self.pidfd, select.POLLIN)
        return not poller.poll(0)

    async def wait(self) -> None:
        """Until the child has exited."""
        if self.pidfd >= 0:
            await _readable(self.pidfd)

    async def stop(self) -> None:
        """Kill the child, wait for its end, close its socket and pidfd."""
        if self.pidfd < 0:
            return
        try:
            with contextlib.suppress(ProcessLookupError):
                signal.pidfd_send_signal(self.pidfd, signal.SIGKILL)
            await self.wait()
        finally:
            self.writer.close()
            os.close(self.pidfd)
            self.pidfd = -1
        with contextlib.suppress(OSError, ConnectionError):
            await self.writer.wait_closed()


class Zygote:
    """One `gateway.analysis.zygote` process, started on first use and again if it died."""

    def __init__(self, startup_limit: float) -> None:
        self.startup_limit = startup_limit
        self.pid: int | None = None
        #: Set when this one exec'd the zygote; one forked early is reaped by pid.
        self._process: asyncio.subprocess.Process | None = None
        self._control: socket.socket | None = None
        self._lock = asyncio.Lock()
        self._closed = False
        #: Requests sent whose answer was not read (a fork cancelled while waiting).
        self._unanswered = 0

    def gone(self) -> bool:
        """True once a started zygote has exited (its socket hung up): its children died
        with it, whatever message they were reading."""
        control = self._control
        if control is None or control.fileno() < 0:
            return False
        poller = select.poll()
        poller.register(control.fileno(), select.POLLHUP)
        return any(event & select.POLLHUP for _, event in poller.poll(0))

    async def _start(self) -> socket.socket:
        if _forked_early:
            self.pid, ours = _forked_early.pop()
        else:
            ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
            try:
                self._process = await asyncio.create_subprocess_exec(
                    sys.executable, "-m", "gateway.analysis.zygote", str(theirs.fileno()),
                    str(os.getpid()), pass_fds=(theirs.fileno(),),
                    stdin=asyncio.subprocess.DEVNULL,
                )
            finally:
                theirs.close()
            self.pid = self._process.pid
        ours.setblocking(False)
        self._control = ours
        loop = asyncio.get_running_loop()
        async with asyncio.timeout(self.startup_limit):
            hello = await loop.sock_recv(ours, NUMBER.size)
        if len(hello) != NUMBER.size:
            raise OSError("the analysis zygote exited while starting")
        return ours

    async def fork(self, memory_limit_mb: int) -> ForkedChild:
        """A new analysis child, capped at `memory_limit_mb` MiB (0: no cap).

        Only a zygote that is gone or never started is stopped and started again: one
        that could not fork this time, or is slow to answer (its late answer is drained
        by the next fork), keeps running, and so do its other children."""
        async with self._lock:
            for attempt in (1, 2):
                if self._closed:
                    raise OSError("the analysis pool is closed")
                try:
                    async with asyncio.timeout(self.startup_limit):
                        return await self._fork(memory_limit_mb)
                except NoChild:
                    raise
                except TimeoutError:
                    if self._unanswered:
                        raise
                    await self._stop()
                    if attempt == 2:
                        raise
                except (OSError, ConnectionError):
                    await self._stop()
                    if attempt == 2:
                        raise
        raise AssertionError("unreachable")

    async def _fork(self, memory_limit_mb: int) -> ForkedChild:
        control = self._control if self._control is not None else await self._start()
        while self._unanswered:  # a child nobody waits for: kill it
            _, fds = await self._answer(control)
            self._unanswered -= 1
            if len(fds) == 2:
                with contextlib.suppress(ProcessLookupError):
                    signal.pidfd_send_signal(fds[1], signal.SIGKILL)
            for fd in fds:
                os.close(fd)
        await asyncio.get_running_loop().sock_sendall(control, NUMBER.pack(memory_limit_mb))
        self._unanswered += 1
        data, fds = await self._answer(control)
        self._unanswered -= 1
        if len(data) != NUMBER.size:
            raise OSError("the analysis zygote is gone")
        (pid,) = NUMBER.unpack(data)
        if pid == 0 or len(fds) != 2:
            for fd in fds:
                os.close(fd)
            raise NoChild("the analysis zygote could not start a child")
        channel, pidfd = fds
        job_socket = socket.socket(fileno=channel)
        try:
            reader, writer = await asyncio.open_unix_connection(sock=job_socket)
        except BaseException:  # cancelled or failed: the child is nobody's, so it goes
            with contextlib.suppress(ProcessLookupError):
                signal.pidfd_send_signal(pidfd, signal.SIGKILL)
            os.close(pidfd)
            job_socket.close()
            raise
        return ForkedChild(pid, pidfd, reader, writer)

    @staticmethod
    async def _answer(control: socket.socket) -> tuple[bytes, list[int]]:
        """The zygote's next answer: its bytes and the descriptors that came with them."""
        while True:
            if control.fileno() < 0:
                raise OSError("the analysis zygote was stopped")
            try:
                data, fds, _, _ = socket.recv_fds(control, NUMBER.size, 2)
                return data, fds
            except BlockingIOError:
                await _readable(control.fileno())

    async def close(self) -> None:
        """Stop the zygote for good (its children die with it); no fork starts another."""
        self._closed = True
        await self._stop()

    async def _stop(self) -> None:
        """Stop the zygote (its children die with it)."""
        control, self._control = self._control, None
        process, self._process = self._process, None
        pid, self.pid = self.pid, None
        self._unanswered = 0
        if control is not None:
            control.close()
        if process is not None:
            with contextlib.suppress(ProcessLookupError):
                process.kill()
            await process.wait()
        elif pid is not None:
            await _reap(pid)
