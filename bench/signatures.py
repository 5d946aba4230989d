"""Signed PDFs: validation time in-process, and relay throughput against the null relay.

Run: .venv/bin/python bench/signatures.py [--iterations N] [--messages N] [--seconds S]

1. p50/p95 validation time of a signed 100 KB and 5 MB PDF, fresh (no cache) and cached.
2. msg/s and p50/p99 latency of messages carrying one signed GIẤY MỜI (~100 KB) from an agency
   (XFORWARD ADDR=10.1.2.3), 10 concurrent aiosmtplib sessions, a connection per message:
   the null relay (bench/null_relay.py) and `tth-gateway serve` with the shipped policies and
   the fixture trust store, both in front of one smtp-sink; the gateway once with the same PDF
   re-sent (verdict cache hits) and once with a different PDF in each message (misses).
The whole run stays under 90 s.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import re
import shlex
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import aiosmtplib
import uvloop

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.relay import ROOT, SESSIONS, Server, Servers, free_port, running
from gateway.signatures.checker import SignatureChecker, build_checker
from gateway.signatures.model import SignatureStatus
from gateway.signatures.settings import SignatureSettings
from gateway.signatures.trust import TrustSources
from tests.fixtures.documents import Attachment, OfficialPaper, message, official_pdf, to_bytes
from tests.fixtures.pki import PERSON_EMAIL, Pki, build_pki
from tests.fixtures.signed import SIZES, sign_pdf, signed_pdf, signer_for

AGENCY_IP = "10.1.2.3"
OFFICIAL_RECIPIENT = "vanphong@thuathienhue.gov.vn"
FILENAME = "giay-moi-hop.pdf"


def _percentiles(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return statistics.median(ordered), p95


def _time(run: Callable[[], object], iterations: int) -> list[float]:
    samples: list[float] = []
    for _ in range(iterations):
        start = time.perf_counter()
        run()
        samples.append((time.perf_counter() - start) * 1000)
    return samples


def _fresh(checker: SignatureChecker, data: bytes) -> Callable[[], object]:
    def run() -> object:
        checker.cache = type(checker.cache)(1)
        verdict = checker.check_pdf(data)
        assert verdict.status == SignatureStatus.VALID, verdict
        return verdict

    return run


def _cached(checker: SignatureChecker, data: bytes) -> Callable[[], object]:
    def run() -> object:
        return checker.check_pdf(data)

    return run


def validation(pki: Pki, iterations: int) -> None:
    """Print p50/p95 of in-process validation, fresh and cached."""
    trust = TrustSources(pki.anchors, pki.intermediates, pki.crls)
    checker = build_checker(trust, SignatureSettings())
    print(f"signature validation, {iterations} iterations each (ms)")
    for label, noise in SIZES.items():
        data = signed_pdf(pki, "timestamped", noise)
        fresh = _percentiles(_time(_fresh(checker, data), iterations))
        checker.check_pdf(data)
        cached = _percentiles(_time(_cached(checker, data), iterations))
        print(
            f"  {label:>5} ({len(data) / 1e6:.2f} MB): validate p50 {fresh[0]:7.1f}"
            f"  p95 {fresh[1]:7.1f}   cached p50 {cached[0]:6.2f}  p95 {cached[1]:6.2f}"
            f"   cache speed-up x{fresh[0] / max(cached[0], 1e-6):.0f}"
        )


def invitation(pdf: bytes) -> bytes:
    """A message from the agency to an official recipient carrying one signed GIẤY MỜI."""
    return to_bytes(message(sender=PERSON_EMAIL, to=OFFICIAL_RECIPIENT,
                            attachments=[Attachment(FILENAME, pdf)]))


def distinct_invitations(pki: Pki, count: int) -> list[bytes]:
    """`count` messages, each carrying a different signed GIẤY MỜI (its own number)."""
    person = signer_for(pki.person)
    papers = (OfficialPaper(number=f"{n}/GM-UBND", noise_image_bytes=SIZES["100KB"])
              for n in range(1, count + 1))
    return [invitation(sign_pdf(official_pdf(paper), person)) for paper in papers]


async def deliver(port: int, body: bytes) -> tuple[int, str]:
    """One message in its own session, the agency client named by XFORWARD; the final reply."""
    client = aiosmtplib.SMTP(hostname="127.0.0.1", port=port, start_tls=False, timeout=60,
                             local_hostname="relay.bench.test")
    await client.connect()
    try:
        await client.ehlo()
        await client.execute_command(b"XFORWARD", f"ADDR={AGENCY_IP}".encode(),
                                     b"NAME=[UNAVAILABLE]")
        await client.sendmail(PERSON_EMAIL, [OFFICIAL_RECIPIENT], body,
                              mail_options=["BODY=8BITMIME"])
    except aiosmtplib.SMTPRecipientsRefused as exc:
        return exc.recipients[0].code, exc.recipients[0].message
    except aiosmtplib.SMTPResponseException as exc:
        return exc.code, exc.message
    finally:
        with contextlib.suppress(aiosmtplib.SMTPException):
            await client.quit()
    return 250, "relayed"


@dataclass(frozen=True)
class Load:
    """What one load run measured."""

    sent: int
    rate: float
    p50: float
    p99: float


async def _load(port: int, bodies: list[bytes], seconds: float) -> Load:
    pending = iter(bodies)
    times: list[float] = []
    refused: list[tuple[int, str]] = []
    deadline = time.perf_counter() + seconds

    async def session() -> None:
        for body in pending:
            started = time.perf_counter()
            code, text = await deliver(port, body)
            times.append(time.perf_counter() - started)
            if code != 250:
                refused.append((code, text))
            if started > deadline:
                return

    started = time.perf_counter()
    await asyncio.gather(*(session() for _ in range(SESSIONS)))
    elapsed = time.perf_counter() - started
    if refused:
        raise SystemExit(f"{len(refused)} of {len(times)} messages refused, first: {refused[0]}")
    ordered = sorted(times)
    p99 = ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]
    return Load(len(times), len(times) / elapsed, statistics.median(ordered) * 1000, p99 * 1000)


def load(port: int, bodies: list[bytes], seconds: float) -> Load:
    """Send `bodies` over 10 concurrent sessions (a connection per message), at most `seconds`."""
    return uvloop.run(_load(port, bodies, seconds))


def counting_sink(port: int, output: Path) -> Server:
    """smtp-sink on `port`, writing its running counters (`mesg=N`) to `output`."""
    user = ["-u", "nobody"] if os.geteuid() == 0 else []
    sink = shlex.join(["smtp-sink", *user, "-c", f"127.0.0.1:{port}", "1000"])
    return Server("smtp-sink", ["sh", "-c", f"exec {sink} > {shlex.quote(str(output))}"], port)


def sunk(output: Path, at_least: int = 0, seconds: float = 5.0) -> int:
    """How many messages smtp-sink received, waiting up to `seconds` for `at_least`."""
    deadline = time.monotonic() + seconds
    while True:
        counts = re.findall(rb"mesg=(\d+)", output.read_bytes())
        count = int(counts[-1]) if counts else 0
        if count >= at_least or time.monotonic() > deadline:
            return count
        time.sleep(0.05)


def gateway_with_trust(servers: Servers, pki: Pki) -> Server:
    """`tth-gateway serve` with the shipped policies and the fixture trust store."""
    server = servers.gateway()
    trust = ["--trust-anchors", str(pki.anchors), "--intermediates", str(pki.intermediates),
             "--crls", str(pki.crls)]
    return Server("gateway", [*server.command, *trust], server.port)


def first_message_relayed(port: int, body: bytes, sink_output: Path) -> None:
    """Abort unless the gateway relays a validly signed invitation and the sink gets it."""
    before = sunk(sink_output, seconds=0)
    code, text = uvloop.run(deliver(port, body))
    if code != 250:
        raise SystemExit(f"gateway refused the validly signed invitation: {code} {text}")
    if sunk(sink_output, before + 1) < before + 1:
        raise SystemExit("gateway answered 250 but smtp-sink did not receive the message")


def throughput(pki: Pki, work: Path, messages: int, seconds: float, distinct: int) -> None:
    """Print msg/s and latency of signed-PDF messages: null relay, gateway cached and fresh."""
    if shutil.which("smtp-sink") is None:
        raise SystemExit("smtp-sink not found: apt-get install postfix")
    pdf = signed_pdf(pki, "valid", SIZES["100KB"])
    same = invitation(pdf)
    fresh_bodies = distinct_invitations(pki, distinct)
    sink_port, sink_output = free_port(), work / "sink.out"
    servers = Servers(work, sink_port, ROOT / "policies")
    null, gateway = servers.null(), gateway_with_trust(servers, pki)
    with running(counting_sink(sink_port, sink_output), work), running(null, work), \
            running(gateway, work):
        first_message_relayed(gateway.port, same, sink_output)
        before = sunk(sink_output, seconds=0)
        for port in (null.port, gateway.port):
            load(port, [same] * SESSIONS, seconds)
        figures = {
            "null relay": load(null.port, [same] * messages, seconds),
            "gateway, same PDF": load(gateway.port, [same] * messages, seconds),
            "gateway, distinct PDFs": load(gateway.port, fresh_bodies, seconds),
        }
        expected = before + 2 * SESSIONS + sum(figure.sent for figure in figures.values())
        received = sunk(sink_output, expected)
    null_rate = figures["null relay"].rate
    print(f"\nrelay throughput: a message ({len(same) / 1e3:.0f} KB) from {AGENCY_IP} carrying "
          f"one signed GIẤY MỜI ({len(pdf) / 1e3:.0f} KB PDF), valid so relayed;\n"
          f"{SESSIONS} concurrent sessions, a connection per message")
    for name, figure in figures.items():
        print(f"  {name:<23} {figure.rate:7.1f} msg/s  x{figure.rate / null_rate:.2f} of null"
              f"   p50 {figure.p50:6.1f} ms  p99 {figure.p99:6.1f} ms   ({figure.sent} messages)")
    cached, fresh = figures["gateway, same PDF"], figures["gateway, distinct PDFs"]
    print(f"  verdict cache: same PDF x{cached.rate / fresh.rate:.2f} the msg/s of distinct "
          f"PDFs; smtp-sink received {received - before} of {expected - before} messages")
    if received < expected:
        raise SystemExit("smtp-sink did not receive every relayed message")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iterations", type=int, default=20, help="validations per figure")
    parser.add_argument("--messages", type=int, default=200, help="messages per load run")
    parser.add_argument("--seconds", type=float, default=15.0, help="longest load run")
    parser.add_argument("--distinct", type=int, default=50, help="distinct signed PDFs")
    args = parser.parse_args()
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="tth-bench-") as directory:
        work = Path(directory)
        pki = build_pki(work / "pki")
        validation(pki, args.iterations)
        throughput(pki, work, args.messages, args.seconds, args.distinct)
    print(f"({time.monotonic() - started:.0f} s in all)")


if __name__ == "__main__":
    main()
