"""Relay benchmark: the gateway against a null relay, all in front of Postfix's smtp-sink.

    python bench/relay.py [--seconds 1.5] [--rounds 3] [--policies DIR]

Three servers relay to the same `smtp-sink`:
  null     a plain aiosmtpd relay, pooled aiosmtplib upstream, uvloop (bench/null_relay.py);
  core     the gateway's SMTP layer with the accept-all decider (bench/gateway_core.py);
  gateway  `tth-gateway serve` with a policy folder of no rules (accept all), so every
           message still goes through the analysis workers.
Load: Postfix's `smtp-source` (10 sessions, a new connection per message) for msg/s;
an asyncio client (10 concurrent, a connection per message) for p50/p99 latency;
/proc/PID/status for the RSS growth while relaying 25 MB messages. Each load run
lasts about `--seconds`; each msg/s is the best of `--rounds` runs, the servers taking
turns. The whole benchmark stays under 3 minutes.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import aiosmtplib
import uvloop

ROOT = Path(__file__).resolve().parents[1]
KB = 1024
MB = KB * KB
SIZES = {"5 KB": 5 * KB, "100 KB": 100 * KB, "2 MB": 2 * MB}
MAX_COUNT = {"5 KB": 5000, "100 KB": 2000, "2 MB": 150}
SESSIONS = 10
BIG = 25 * MB


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def accept_all_policies(directory: Path) -> Path:
    """The shipped policy folder without its rules: every message is accepted."""
    directory.mkdir(parents=True)
    for source in (ROOT / "policies").glob("*.yaml"):
        if source.name != "rules.yaml":
            shutil.copy(source, directory / source.name)
    (directory / "rules.yaml").write_text("rules: []\n")
    return directory


@dataclass
class Server:
    name: str
    command: list[str]
    port: int


@contextmanager
def running(server: Server, cwd: Path) -> Iterator[subprocess.Popen[bytes]]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    process = subprocess.Popen(server.command, cwd=cwd, env=env, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                raise SystemExit(f"{server.name} exited with {process.returncode}")
            try:
                socket.create_connection(("127.0.0.1", server.port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise SystemExit(f"{server.name} is not listening") from None
                time.sleep(0.05)
        yield process
    finally:
        with contextlib.suppress(ProcessLookupError):  # it may have exited on its own
            os.killpg(process.pid, signal.SIGTERM)  # the server and its worker processes
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


class Servers:
    """Command lines for the three relays in front of one smtp-sink."""

    def __init__(self, work: Path, sink_port: int, policies: Path) -> None:
        self.work, self.sink_port, self.policies = work, sink_port, policies

    def sink(self, port: int) -> Server:
        user = ["-u", "nobody"] if os.geteuid() == 0 else []
        return Server("smtp-sink", ["smtp-sink", *user, f"127.0.0.1:{port}", "1000"], port)

    def null(self, workers: int = 1) -> Server:
        port = free_port()
        return Server(f"null x{workers}", [
            sys.executable, str(ROOT / "bench" / "null_relay.py"), "--listen",
            f"127.0.0.1:{port}", "--upstream", f"127.0.0.1:{self.sink_port}",
            "--workers", str(workers)], port)

    def _config(self, port: int, workers: int, pool: int) -> Path:
        config = self.work / f"gateway-{port}.yaml"
        config.write_text(
            f"server:\n  listen: [\"127.0.0.1:{port}\"]\n  hostname: bench.test\n"
            f"  workers: {workers}\n  max_message_size: 104857600\n"
            f"upstream:\n  address: \"127.0.0.1:{self.sink_port}\"\n  starttls: \"off\"\n"
            f"  pool_size: {pool}\n"
            f"metrics:\n  listen: null\naudit:\n  path: {self.work / f'audit-{port}.jsonl'}\n"
            # Sender authentication has its own figures (bench/auth.py); off here, so that
            # these relay figures keep measuring the SMTP path and the policy.
            "authentication:\n  verify: false\n"
        )
        return config

    def core(self, workers: int = 1, pool: int = 20) -> Server:
        port = free_port()
        config = self._config(port, workers, pool)
        return Server(f"core x{workers} pool {pool}", [
            sys.executable, str(ROOT / "bench" / "gateway_core.py"), str(config)], port)

    def gateway(self, workers: int = 1) -> Server:
        port = free_port()
        config = self._config(port, workers, 20)
        return Server(f"gateway x{workers}", [
            sys.executable, "-m", "gateway.cli", "serve", "--config", str(config),
            "--policies", str(self.policies)], port)


def _smtp_source(port: int, size: int, count: int) -> float:
    command = ["smtp-source", "-s", str(SESSIONS), "-m", str(count), "-l", str(size),
               "-f", "a@bench.test", "-t", "b@bench.test", f"127.0.0.1:{port}"]
    started = time.perf_counter()
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - started
    if result.returncode != 0:
        raise SystemExit(f"smtp-source failed: {result.stderr[-500:]}")
    return count / elapsed


def message(size: int) -> bytes:
    head = b"From: a@bench.test\r\nTo: b@bench.test\r\nSubject: bench\r\n\r\n"
    line = b"X" * 78 + b"\r\n"
    return head + line * max(1, (size - len(head)) // len(line))


async def _send(port: int, body: bytes) -> None:
    await aiosmtplib.send(body, sender="a@bench.test", recipients=["b@bench.test"],
                          hostname="127.0.0.1", port=port, start_tls=False, timeout=120)


async def _latencies(port: int, size: int, count: int) -> list[float]:
    body = message(size)
    remaining = [count]
    times: list[float] = []

    async def session() -> None:
        while remaining[0] > 0:
            remaining[0] -= 1
            started = time.perf_counter()
            await _send(port, body)
            times.append(time.perf_counter() - started)

    await asyncio.gather(*(session() for _ in range(SESSIONS)))
    return times


def latency(port: int, size: int, count: int) -> tuple[float, float]:
    """p50 and p99 in ms, 10 concurrent clients, a connection per message."""
    times = sorted(uvloop.run(_latencies(port, size, count)))
    p99 = times[min(len(times) - 1, round(0.99 * (len(times) - 1)))]
    return statistics.median(times) * 1000, p99 * 1000


def _rss(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * KB
    return 0


def rss_growth(port: int, pid: int, parallel: int) -> int:
    """Peak RSS minus RSS before, while relaying `parallel` 25 MB messages at once."""
    uvloop.run(_latencies(port, 5 * KB, 20))
    time.sleep(0.2)
    baseline = peak = _rss(pid)
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not done.is_set():
            peak = max(peak, _rss(pid))
            time.sleep(0.005)

    sampler = threading.Thread(target=sample)
    sampler.start()
    body = message(BIG)

    async def send_all() -> None:
        await asyncio.gather(*(_send(port, body) for _ in range(parallel)))

    try:
        uvloop.run(send_all())
    finally:
        done.set()
        sampler.join()
    return peak - baseline


@dataclass
class Figures:
    rate: dict[str, float] = field(default_factory=dict)
    p50: dict[str, float] = field(default_factory=dict)
    p99: dict[str, float] = field(default_factory=dict)
    rss: dict[int, int] = field(default_factory=dict)


def best_rates(servers: dict[str, Server], size_name: str, seconds: float,
               rounds: int) -> dict[str, float]:
    """Best msg/s of `rounds` runs, the servers taking turns (other load on the machine
    then disturbs them alike)."""
    size = SIZES[size_name]
    counts = {}
    for name, server in servers.items():
        probe = _smtp_source(server.port, size, 20 if size < MB else 10)
        counts[name] = int(min(MAX_COUNT[size_name], max(20, probe * seconds)))
    best = dict.fromkeys(servers, 0.0)
    for _ in range(rounds):
        for name, server in servers.items():
            best[name] = max(best[name], _smtp_source(server.port, size, counts[name]))
    return best


def measure(servers: dict[str, Server], work: Path, seconds: float,
            rounds: int) -> dict[str, Figures]:
    figures = {name: Figures() for name in servers}
    with ExitStack() as stack:
        processes = {name: stack.enter_context(running(server, work))
                     for name, server in servers.items()}
        for name, server in servers.items():
            for parallel in (1, 4):
                figures[name].rss[parallel] = rss_growth(server.port, processes[name].pid,
                                                         parallel)
        for size_name, size in SIZES.items():
            for name, rate in best_rates(servers, size_name, seconds, rounds).items():
                figures[name].rate[size_name] = rate
                count = int(min(400, max(20, rate * seconds)))
                figures[name].p50[size_name], figures[name].p99[size_name] = latency(
                    servers[name].port, size, count)
    return figures


def rates_5k(servers: dict[str, Server], work: Path, seconds: float,
             rounds: int) -> dict[str, float]:
    with ExitStack() as stack:
        for server in servers.values():
            stack.enter_context(running(server, work))
        return best_rates(servers, "5 KB", seconds, rounds)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=1.5, help="length of each load run")
    parser.add_argument("--rounds", type=int, default=3, help="runs per figure (best is kept)")
    parser.add_argument("--policies", type=Path,
                        help="policy folder for `gateway` (default: shipped lists, no rules)")
    args = parser.parse_args()
    for tool in ("smtp-sink", "smtp-source"):
        if shutil.which(tool) is None:
            raise SystemExit(f"{tool} not found: apt-get install postfix")
    work = Path(tempfile.mkdtemp(prefix="tth-bench-"))
    started = time.monotonic()
    sink_port = free_port()
    servers = Servers(work, sink_port, args.policies or accept_all_policies(work / "policies"))
    try:
        with running(servers.sink(sink_port), work):
            full = measure({"null": servers.null(), "core": servers.core(),
                            "gateway": servers.gateway()}, work, args.seconds, args.rounds)
            five = rates_5k({"null x2": servers.null(2), "core x2": servers.core(2),
                             "gateway x2": servers.gateway(2),
                             "core unpooled": servers.core(pool=0)},
                            work, args.seconds, args.rounds)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    report(full, five, time.monotonic() - started)


def report(full: dict[str, Figures], five: dict[str, float], elapsed: float) -> None:
    null, core, gateway = full["null"], full["core"], full["gateway"]
    print(f"\nRelay benchmark: {os.cpu_count()} CPUs, smtp-source -s {SESSIONS} (a connection "
          f"per message) -> relay -> smtp-sink; {elapsed:.0f} s in all\n")
    print(f"{'size':>6} | {'msg/s null':>10} {'core':>7} {'gateway':>8} | "
          f"{'core/null':>9} {'gw/null':>7} | {'p50/p99 ms null':>16} {'core':>14} "
          f"{'gateway':>14}")
    print("-" * 108)
    for name in SIZES:
        print(f"{name:>6} | {null.rate[name]:>10.1f} {core.rate[name]:>7.1f} "
              f"{gateway.rate[name]:>8.1f} | {core.rate[name] / null.rate[name]:>9.2f} "
              f"{gateway.rate[name] / null.rate[name]:>7.2f} | "
              + " ".join(f"{f.p50[name]:>7.1f}/{f.p99[name]:<7.1f}" for f in (null, core, gateway)))
    print("\n5 KB, 2 workers (msg/s, and against 1 worker):")
    for name, one in (("null", null), ("core", core), ("gateway", gateway)):
        two = five[f"{name} x2"]
        print(f"  {name:<8} {two:>7.1f}  ({two / one.rate['5 KB']:.2f}x)")
    unpooled = five["core unpooled"]
    print(f"5 KB, core: pooled upstream {core.rate['5 KB']:.1f} msg/s, unpooled (pool_size 0) "
          f"{unpooled:.1f} msg/s ({core.rate['5 KB'] / unpooled:.2f}x)")
    print("\nRSS growth while relaying 25 MB messages (one / four at once):")
    for name, figures in full.items():
        one, four = figures.rss[1], figures.rss[4]
        print(f"  {name:<8} {one / MB:>6.1f} MB ({one / BIG:.2f}x)   {four / MB:>6.1f} MB "
              f"({four / BIG:.2f}x one message)")
    print("\nTargets (issue 2), for core and gateway:")
    for name, figures in (("core", core), ("gateway", gateway)):
        two = five[f"{name} x2"]
        checks = [
            ("5 KB >= 0.8x null", figures.rate["5 KB"] >= 0.8 * null.rate["5 KB"]),
            ("100 KB >= 0.8x null", figures.rate["100 KB"] >= 0.8 * null.rate["100 KB"]),
            ("2 MB >= 2x null", figures.rate["2 MB"] >= 2 * null.rate["2 MB"]),
            ("2 workers >= 1.6x 1 worker at 5 KB", two >= 1.6 * figures.rate["5 KB"]),
            ("RSS +<= 2x of one 25 MB message", figures.rss[1] <= 2 * BIG),
            ("RSS +<= 2x for four at once", figures.rss[4] <= 2 * BIG),
        ]
        print(f"  {name:<8} " + "  ".join(f"{'PASS' if ok else 'MISS'} {what}"
                                          for what, ok in checks))


if __name__ == "__main__":
    main()
