"""The zygote that forks analysis children: each child dies with it, and a fork
cancelled while waiting for its answer leaves no child behind nor the next one out of
step."""

from __future__ import annotations

import asyncio
import os
import pickle
import resource
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from gateway.analysis.forked import NUMBER, ForkedChild, NoChild, Zygote
from gateway.analysis.pool import FRAME
from tests.support.processes import living_children, stderr_until_exit

ROOT = Path(__file__).resolve().parents[2]


async def _ping(child: ForkedChild) -> tuple[str, object]:
    payload = pickle.dumps(None)
    child.writer.write(FRAME.pack(len(payload)) + payload)
    (size,) = FRAME.unpack(await child.reader.readexactly(FRAME.size))
    answer: tuple[str, object] = pickle.loads(await child.reader.readexactly(size))
    return answer


def test_children_die_with_their_zygote() -> None:
    async def scenario() -> tuple[tuple[str, object], bool]:
        zygote = Zygote(120)
        child = await zygote.fork(0)
        try:
            answer = await _ping(child)
            assert zygote.pid is not None
            os.kill(zygote.pid, signal.SIGKILL)
            await asyncio.wait_for(child.wait(), 10)
            return answer, child.alive
        finally:
            await child.stop()
            await zygote.close()

    answer, alive = asyncio.run(scenario())
    assert answer == ("ok", None)
    assert not alive


def test_an_answer_nobody_read_is_drained_and_its_child_killed() -> None:
    async def scenario() -> tuple[tuple[str, object], bool]:
        zygote = Zygote(120)
        first = await zygote.fork(0)
        try:
            assert zygote._control is not None and zygote.pid is not None
            # as a fork cancelled after its request: the answer is left on the socket
            await asyncio.get_running_loop().sock_sendall(zygote._control, NUMBER.pack(0))
            zygote._unanswered += 1
            second = await zygote.fork(0)
            answer = await _ping(second)
            await asyncio.sleep(0.5)
            alive = living_children(zygote.pid)
            await second.stop()
            return answer, sorted(alive) == sorted([first.pid, second.pid])
        finally:
            await first.stop()
            await zygote.close()

    answer, only_ours = asyncio.run(scenario())
    assert answer == ("ok", None)
    assert only_ours


async def _settled_fds(pid: int) -> int:
    """How many descriptors `pid` holds once the count stays the same for 0.1 s: the
    zygote closes its copies of a child's socket and pidfd only after sending them."""
    counts = [len(os.listdir(f"/proc/{pid}/fd"))]
    for _ in range(50):
        await asyncio.sleep(0.1)
        counts.append(len(os.listdir(f"/proc/{pid}/fd")))
        if counts[-1] == counts[-2]:
            return counts[-1]
    raise AssertionError(f"the zygote's descriptors never settled: {counts}")


def test_a_refused_fork_leaves_the_zygote_and_its_children_running() -> None:
    """The system refuses one fork (here: no descriptor left for the child's socket);
    the busy child keeps its zygote, and the next fork works once the system allows."""

    async def scenario() -> tuple[bool, tuple[str, object], tuple[str, object]]:
        zygote = Zygote(120)
        first = await zygote.fork(0)
        second = None
        try:
            pid = zygote.pid
            assert pid is not None
            soft, hard = resource.prlimit(pid, resource.RLIMIT_NOFILE)
            resource.prlimit(pid, resource.RLIMIT_NOFILE, (await _settled_fds(pid), hard))
            with pytest.raises(NoChild):
                await zygote.fork(0)
            same_zygote = zygote.pid == pid
            resource.prlimit(pid, resource.RLIMIT_NOFILE, (soft, hard))
            second = await zygote.fork(0)
            return same_zygote, await _ping(first), await _ping(second)
        finally:
            await first.stop()
            if second is not None:
                await second.stop()
            await zygote.close()

    same_zygote, first_answer, second_answer = asyncio.run(scenario())
    assert same_zygote
    assert first_answer == second_answer == ("ok", None)


def test_a_worker_gone_before_reading_the_zygote_leaves_it_to_exit_quietly() -> None:
    """The worker forks its zygote and, failing as it starts, drops its end of their
    socket with the zygote's "ready" unread (the zygote sees a reset, not an end of file)
    before it exits: the zygote exits without a traceback."""
    worker = subprocess.Popen(
        [sys.executable, "-c",
         "import os, time\n"
         "from gateway.analysis import forked\n"
         "from gateway.analysis.zygote import fork_zygote\n"
         "fork_zygote([])\n"
         "time.sleep(0.5)\n"
         "forked._forked_early[0][1].close()\n"
         "time.sleep(0.5)\n"
         "os._exit(0)\n"],
        cwd=ROOT, stderr=subprocess.PIPE, start_new_session=True)
    output = stderr_until_exit(worker, 60)  # the zygote, its end of stderr closed, exited
    assert worker.returncode == 0, output
    assert "Traceback" not in output and "zygote failed" not in output, output
