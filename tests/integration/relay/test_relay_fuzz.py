"""A bounded SMTP fuzz: random and mutated command sequences, pipelined bursts, resets at every
stage. Afterwards: no traceback logged, no upstream connection or file descriptor leaked, and
permanently malformed input always got a 5xx."""

from __future__ import annotations

import logging
import os
import random
import socket
import time
from collections.abc import Callable

import pytest

from gateway.service.serve import Gateway
from tests.support.live import IDLE, IN_USE, metric
from tests.support.sink import Sink
from tests.support.wire import MALFORMED, reset

SESSIONS = 150
BASE = [
    b"EHLO fuzz.test", b"HELO fuzz.test", b"MAIL FROM:<a@x.test>", b"MAIL FROM:<a@x.test> SIZE=10",
    b"RCPT TO:<b@x.test>", b"RCPT TO:<c@x.test>", b"DATA", b"Subject: t\r\n\r\nbody\r\n.",
    b"RSET", b"NOOP", b"VRFY <b@x.test>", b"HELP", b"STARTTLS", b"AUTH PLAIN AGE=",
    b"XFORWARD ADDR=1.2.3.4",
    b"BDAT 10 LAST", b"QUIT",
]
NOISE = [b"\x00", b"\xff", b"\r", b"\n", b"<", b">", b"@", b"[", b'"', b" ", b":", b"\\", b"\xc3("]


def _mutate(rng: random.Random, command: bytes) -> bytes:
    choice = rng.randrange(6)
    if choice == 0 and command:
        return command[: rng.randrange(len(command))]
    if choice == 1:
        at = rng.randrange(len(command) + 1)
        return command[:at] + rng.choice(NOISE) + command[at:]
    if choice == 2:
        return command.lower()
    if choice == 3:
        return command + b" " + bytes(rng.randrange(33, 127) for _ in range(rng.randrange(1, 40)))
    if choice == 4:
        return command * rng.randrange(2, 5)
    return b"X" * rng.choice([600, 1100, 5000])


def _script(rng: random.Random) -> list[bytes]:
    commands = [b"EHLO fuzz.test"]
    for _ in range(rng.randrange(1, 12)):
        command = rng.choice(BASE)
        commands.append(_mutate(rng, command) if rng.random() < 0.4 else command)
    return commands


def _drain(sock: socket.socket, wait: float) -> bytes:
    sock.settimeout(wait)
    received = b""
    try:
        while chunk := sock.recv(65536):
            received += chunk
            if received.endswith(b"\r\n"):
                sock.settimeout(0.05)
    except (TimeoutError, OSError):
        pass
    return received


def _codes(received: bytes) -> list[int]:
    return [int(line[:3]) for line in received.split(b"\r\n") if line[:3].isdigit()
            and line[3:4] != b"-"]


def _session(rng: random.Random, address: tuple[str, int]) -> list[int]:
    """One fuzzed session; returns the codes that answered permanently malformed MAILs."""
    malformed_codes: list[int] = []
    sock = socket.create_connection(address, timeout=10)
    try:
        _drain(sock, 5)
        script = _script(rng)
        cut = rng.randrange(len(script) + 1)  # the stage at which the client vanishes
        if rng.random() < 0.4:  # one pipelined burst
            sock.sendall(b"".join(command + b"\r\n" for command in script[:cut]))
            _drain(sock, 0.2 if rng.random() < 0.5 else 0.0)
        else:
            for command in script[:cut]:
                sock.sendall(command + b"\r\n")
                _drain(sock, 0.3)
        if rng.random() < 0.3 and cut == len(script):
            sock.sendall(b"RSET\r\nMAIL FROM:" + rng.choice(MALFORMED) + b"\r\n")
            malformed_codes = _codes(_drain(sock, 5))[-1:]
        if rng.random() < 0.5:
            reset(sock)
    except OSError:  # the gateway closed first (QUIT, too many bad commands, a bad line)
        malformed_codes = []
    finally:
        sock.close()
    return malformed_codes


def _fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def test_fuzzed_sessions_leave_no_traceback_no_leak_and_get_5xx_for_malformed_input(
    loop_kind: str, sink: Sink, gateway_at: Callable[..., Gateway], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)
    gateway = gateway_at(sink.address, max_connections=500, max_connections_per_ip=500,
                         command_timeout=20)
    address = gateway.addresses()[0]
    idle_before = metric("tth_upstream_connections", IDLE)
    in_use_before = metric("tth_upstream_connections", IN_USE)
    fds_before = _fds()
    rng = random.Random(8)
    malformed_codes: list[int] = []
    for _ in range(SESSIONS):
        malformed_codes += _session(rng, address)
    assert malformed_codes, "no malformed command was checked"
    assert all(500 <= code < 600 for code in malformed_codes), malformed_codes

    def settled() -> bool:
        idle = metric("tth_upstream_connections", IDLE) - idle_before
        return (metric("tth_upstream_connections", IN_USE) == in_use_before
                and sink.held_by_clients() == idle
                and _fds() <= fds_before + 2 * idle)  # both ends of each pooled connection

    deadline = time.monotonic() + 30
    while not settled() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert settled(), (metric("tth_upstream_connections", IN_USE), sink.held_by_clients(),
                       _fds(), fds_before)
    assert sink.connections > 1, "no transaction reached the upstream: the fuzz proves nothing"
    bad = [record for record in caplog.records
           if record.levelno >= logging.ERROR or record.exc_info]
    assert not bad, [record.getMessage() for record in bad]
