"""The gateway with the DEFAULT policy on realistic mail, against the null relay (issue 14).

    python bench/realistic.py [--seconds 2.5] [--rounds 2] [--distinct 80] [--only scan]...

Messages (bench/realistic_messages.py): a citizen's 8.5 KB letter in Vietnamese (base64
UTF-8), the same with a typed 80 KB PDF, the same with a scanned 1.5 MB PDF, and a
partner's signed GIẤY MỜI (its signature verified against the fixture PKI) resent
identical and, separately, a different signed document each time. Each is first checked
with `tth-gateway check --json` (the live code path): the default policy must deliver it.
A last line measures the quarantine path: the invitation with random bytes named .pdf,
which the policy holds.

Load: Postfix's `smtp-source -F FILE` (10 sessions, a new connection per message) through
  null      bench/null_relay.py, 2 processes (SO_REUSEPORT)
  gateway   `tth-gateway serve --workers 2` with the shipped policies and the PKI's trust
to the same `smtp-sink`. A different document each time: 10 threads each running
`smtp-source -m 1` per file. msg/s is the best of `--rounds` runs, servers taking turns.
The audit log must show every message with the expected outcome. CPU: the time the
server's processes (master, workers, analysis children) spent during the runs, per
message. Memory: the peak of the summed RSS and PSS of each server's processes.
When amavisd-new is installed it gets a column too (bench/amavis.py: 4 children,
no virus or spam scanner). The whole run takes about 2 minutes (3 with amavisd-new).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.amavis import amavisd_server
from bench.cpu import session_cpu
from bench.memory import PeakMemory, report_lines
from bench.realistic_messages import (
    CITIZEN,
    OFFICIAL,
    PARTNER,
    invitation,
    invitation_pdf,
    invitations,
    letter,
    letter_with_pdf,
    letter_with_scan,
    quarantine_bait,
)
from bench.relay import ROOT, SESSIONS, Server, Servers, free_port, running
from tests.fixtures.pki import Pki, build_pki

MB = 1024 * 1024
AMAVIS = "amavisd-new"
CLIENT_IP = "127.0.0.1"  # where smtp-source connects from: outside the agencies (inbound)


@dataclass(frozen=True)
class Figures:
    """One server on one row: its best msg/s, and its CPU ms per message over all runs."""

    rate: float
    cpu_ms: float


@dataclass(frozen=True)
class Case:
    """One row: a message file (or several: a different one per message) and its outcome."""

    label: str
    files: tuple[Path, ...]
    action: str
    outcome: str
    sender: str = CITIZEN
    max_count: int = 2000
    size: int = field(init=False)

    def __post_init__(self) -> None:
        """The size on the wire: the file's, with CRLF line ends."""
        data = self.files[0].read_bytes()
        object.__setattr__(self, "size", len(data) + data.count(b"\n"))


def build_cases(work: Path, pki: Pki, distinct: int) -> list[Case]:
    """Write every message under `work`/messages and describe the rows of the table."""
    folder = work / "messages"
    folder.mkdir()

    def save(name: str, data: bytes) -> Path:
        path = folder / f"{name}.eml"
        path.write_bytes(data.replace(b"\r\n", b"\n"))  # smtp-source -F adds the CRs
        return path

    delivered = {"action": "accept", "outcome": "relayed"}
    partner = {**delivered, "sender": PARTNER}
    fresh = tuple(save(f"invitation-{n}", body)
                  for n, body in enumerate(invitations(pki, distinct)))
    return [
        Case("8.5 KB letter", (save("letter", letter()),), **delivered),
        Case("letter + text PDF", (save("letter-pdf", letter_with_pdf()),), **delivered),
        Case("letter + 1.5 MB scan", (save("letter-scan", letter_with_scan()),), **delivered,
             max_count=120),
        Case("signed invitation, resent",
             (save("invitation", invitation(invitation_pdf(pki))),), **partner),
        Case("signed, new each time", fresh, **partner),
        Case("quarantine path", (save("bait", quarantine_bait(pki)),), "quarantine",
             "quarantined", PARTNER, max_count=600),
    ]


def trust_flags(pki: Pki) -> list[str]:
    return ["--trust-anchors", str(pki.anchors), "--intermediates", str(pki.intermediates),
            "--crls", str(pki.crls)]


def check(case: Case, pki: Pki) -> None:
    """Abort unless `tth-gateway check` gives each file of `case` the expected action."""
    for path in case.files[:1]:
        result = subprocess.run(
            [sys.executable, "-m", "gateway.cli", "check", str(path), "--json",
             "--policies", str(ROOT / "policies"), "--client-ip", CLIENT_IP,
             "--mail-from", case.sender, "--rcpt", OFFICIAL, *trust_flags(pki)],
            capture_output=True, text=True, check=False, cwd=ROOT)
        verdict = json.loads(result.stdout)
        rules = [rule["name"] for rule in verdict["rules"]]
        if verdict["action"] != case.action:
            raise SystemExit(f"{case.label}: check says {verdict['action']} {rules}, "
                             f"expected {case.action}")


def smtp_source(port: int, path: Path, count: int, sender: str,
                sessions: int = SESSIONS) -> float:
    """msg/s of `count` copies of `path` over `sessions` sessions (a connection per message)."""
    command = ["smtp-source", "-s", str(sessions), "-m", str(count), "-F", str(path),
               "-f", sender, "-t", OFFICIAL,
               f"127.0.0.1:{port}"]
    started = time.perf_counter()
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise SystemExit(f"smtp-source failed: {result.stderr[-500:]}")
    return count / (time.perf_counter() - started)


def each_once(port: int, files: tuple[Path, ...], sender: str) -> float:
    """msg/s of every file sent once: 10 threads, each running smtp-source per file."""
    pending = iter(files)
    lock = threading.Lock()

    def session() -> None:
        while True:
            with lock:
                path = next(pending, None)
            if path is None:
                return
            smtp_source(port, path, 1, sender, sessions=1)

    threads = [threading.Thread(target=session) for _ in range(SESSIONS)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return len(files) / (time.perf_counter() - started)


class Audit:
    """Reads the lines a gateway appended to its audit log since the last call."""

    def __init__(self, path: Path) -> None:
        self.path, self.offset = path, 0

    def since_last(self) -> Counter[tuple[str, str]]:
        if not self.path.exists():
            return Counter()
        with self.path.open("rb") as file:
            file.seek(self.offset)
            data = file.read()
        self.offset += len(data)
        records = [json.loads(line) for line in data.splitlines() if line.strip()]
        return Counter((record.get("action") or "-", record["outcome"]) for record in records)


def measure_case(case: Case, servers: dict[str, Server], leaders: dict[str, int],
                 audit: Audit, memory: PeakMemory, seconds: float,
                 rounds: int) -> dict[str, Figures]:
    """Best msg/s and CPU per message of each server (its session, `leaders`); aborts if
    the gateway gave any message another outcome."""
    memory.phase = case.label
    audit.since_last()
    if len(case.files) > 1:
        runs: dict[str, Callable[[], float]] = {
            name: (lambda port=server.port: each_once(port, case.files, case.sender))
            for name, server in servers.items()}
        counts = dict.fromkeys(servers, len(case.files))
        rounds = 1
    else:
        counts = {}
        for name, server in servers.items():
            probe = smtp_source(server.port, case.files[0], 10 if case.size > MB else 30,
                                case.sender)
            counts[name] = int(min(case.max_count, max(20, probe * seconds)))
        runs = {name: (lambda port=server.port, count=counts[name]:
                       smtp_source(port, case.files[0], count, case.sender))
                for name, server in servers.items()}
    best, cpu = dict.fromkeys(servers, 0.0), dict.fromkeys(servers, 0.0)
    for _ in range(rounds):
        for name, run in runs.items():
            before = session_cpu(leaders[name])
            best[name] = max(best[name], run())
            cpu[name] += session_cpu(leaders[name]) - before
    time.sleep(0.5)  # the last audit lines
    seen = audit.since_last()
    if set(seen) != {(case.action, case.outcome)}:
        raise SystemExit(f"{case.label}: the gateway's audit log shows {dict(seen)}, "
                         f"expected only {case.action}/{case.outcome}")
    return {name: Figures(best[name], cpu[name] * 1000 / (counts[name] * rounds))
            for name in servers}


def report(cases: list[Case], rates: dict[str, dict[str, Figures]], memory: PeakMemory,
           elapsed: float) -> None:
    print(f"\nRealistic mail, DEFAULT policy: {os.cpu_count()} CPUs, smtp-source -s {SESSIONS} "
          "(a connection per message) -> X (2 processes) -> smtp-sink; "
          f"{elapsed:.0f} s in all")
    amavis = AMAVIS in next(iter(rates.values()))
    if not amavis:
        print("amavisd-new: not installed (apt-get install amavisd-new adds its column)")
    column, ratio = (f" {'amavisd-new':>11}", f" {'gw/amavis':>9}") if amavis else ("", "")
    print(f"\n{'message':<27} {'size':>9} | {'null msg/s':>10} {'gateway':>8}{column} | "
          f"{'gw/null':>7}{ratio} | {'CPU ms/msg: null':>16} {'gateway':>8}")
    print("-" * (98 + (24 if amavis else 0)))
    for case in cases:
        if case.action != "accept":
            print("quarantine path (held, not relayed; not comparable with a relay):")
        row = {name: figures.rate for name, figures in rates[case.label].items()}
        size = f"{case.size / 1024:.1f} KB" if case.size < MB else f"{case.size / MB:.2f} MB"
        column, ratio = (f" {row[AMAVIS]:>11.1f}", f" {row['gateway'] / row[AMAVIS]:>8.2f}x"
                         ) if amavis else ("", "")
        cpu = {name: figures.cpu_ms for name, figures in rates[case.label].items()}
        print(f"{case.label:<27} {size:>9} | {row['null']:>10.1f} {row['gateway']:>8.1f}{column} | "
              f"{row['gateway'] / row['null']:>6.2f}x{ratio} | {cpu['null']:>16.2f} "
              f"{cpu['gateway']:>8.2f}")
    print("\nPeak memory under that load (summed over the server's processes, per role):")
    for name in ("null", "gateway", *([AMAVIS] if amavis else [])):
        print(f"  {name}")
        for line in report_lines(memory.peak(name)):
            print(f"    {line}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=2.5, help="length of each load run")
    parser.add_argument("--rounds", type=int, default=2, help="runs per figure (best is kept)")
    parser.add_argument("--distinct", type=int, default=80,
                        help="different signed invitations, each sent once")
    parser.add_argument("--only", metavar="TEXT", action="append", default=[],
                        help="only the messages whose label holds TEXT (e.g. 'scan'); "
                             "repeat it for several")
    args = parser.parse_args()
    for tool in ("smtp-sink", "smtp-source"):
        if shutil.which(tool) is None:
            raise SystemExit(f"{tool} not found: apt-get install postfix")
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="tth-bench-") as directory:
        work = Path(directory)
        pki = build_pki(work / "pki")
        cases = [case for case in build_cases(work, pki, args.distinct)
                 if not args.only or any(text in case.label for text in args.only)]
        if not cases:
            raise SystemExit(f"no message's label holds any of {args.only!r}")
        for case in cases:
            check(case, pki)
        print(f"built and checked {len(cases)} kinds of message in "
              f"{time.monotonic() - started:.0f} s")
        sink_port = free_port()
        servers = Servers(work, sink_port, ROOT / "policies")
        gateway = servers.gateway(2)
        gateway = Server(gateway.name, [*gateway.command, *trust_flags(pki)], gateway.port)
        relays = {"null": servers.null(2), "gateway": gateway}
        amavis = amavisd_server(work, sink_port)
        if amavis is not None:
            relays[AMAVIS] = amavis
        with ExitStack() as stack:
            stack.enter_context(running(servers.sink(sink_port), work))
            leaders = {name: stack.enter_context(running(server, work)).pid
                       for name, server in relays.items()}
            memory = stack.enter_context(PeakMemory(leaders))
            audit = Audit(work / f"audit-{gateway.port}.jsonl")
            rates = {case.label: measure_case(case, relays, leaders, audit, memory,
                                              args.seconds, args.rounds) for case in cases}
    report(cases, rates, memory, time.monotonic() - started)


if __name__ == "__main__":
    main()
