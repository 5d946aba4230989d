"""Sender authentication: the cost per message of DKIM signing and of verification.

Run: .venv/bin/python bench/auth.py [--iterations N] [--messages N] [--seconds S]

1. In-process, a 5 KB message: p50/p95 of signing (rsa-sha256 2048, ed25519-sha256, both)
   and of the whole verification stage (SPF, DKIM, DMARC, ARC) with DNS answered by a
   local server (tests/support/dnsserver.py on loopback), cold (cache emptied) and cached.
2. Relay, 10 concurrent sessions, a connection per message, 5 KB messages, each run in
   front of one smtp-sink: the null relay; `tth-gateway serve` with the accept-all policy
   and authentication off (the baseline); the same signing agency mail (rsa + ed25519, from
   10.1.2.3 by XFORWARD); the same verifying mail from outside (a DKIM-signed partner,
   DNS local and cached).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import aiosmtplib
import uvloop

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.relay import SESSIONS, Server, Servers, accept_all_policies, free_port, running
from bench.signatures import counting_sink, sunk
from gateway.auth.dns import DnsCache, DnsClient, DnsSettingsValue
from gateway.auth.stage import Authenticator
from gateway.mail.envelope import Envelope
from tests.support.authzone import PARTNER_IP, AuthZone, build_zone

AGENCY_IP = "10.1.2.3"
AGENCY = "vanthu@sotttt.thuathienhue.gov.vn"
PARTNER = "a@bank.example"
RECIPIENT = "b@hue.gov.vn"


def body(sender: str, size: int = 5 * 1024) -> bytes:
    head = (f"From: {sender}\r\nTo: {RECIPIENT}\r\nSubject: bench\r\n"
            "Date: Fri, 04 Dec 2026 10:00:00 +0700\r\nMessage-ID: <b@bench.test>\r\n"
            "MIME-Version: 1.0\r\nContent-Type: text/plain\r\n\r\n").encode()
    line = b"X" * 78 + b"\r\n"
    return head + line * max(1, (size - len(head)) // len(line))


def _percentiles(run: Callable[[], object], iterations: int) -> tuple[float, float]:
    samples = []
    for _ in range(iterations):
        started = time.perf_counter()
        run()
        samples.append((time.perf_counter() - started) * 1000)
    ordered = sorted(samples)
    return statistics.median(ordered), ordered[round(0.95 * (len(ordered) - 1))]


def in_process(zone: AuthZone, iterations: int) -> None:
    message = body(AGENCY)
    print(f"in-process, one {len(message) / 1e3:.1f} KB message (ms, p50 / p95)")
    for label, names in (("sign rsa-sha256", ("official",)),
                         ("sign ed25519-sha256", ("official-ed",)),
                         ("sign both (dual)", ("official", "official-ed"))):
        signer = zone.signer(*names)
        p50, p95 = _percentiles(lambda s=signer: s.sign(message, "thuathienhue.gov.vn"),
                                iterations)
        print(f"  {label:<34} {p50:7.2f} / {p95:7.2f}")
    server = zone.server
    cache = DnsCache()
    dns = DnsClient(DnsSettingsValue(((server.host, server.port),), 1.0, 3.0), cache)
    verifier = Authenticator(dns, None, "bench.test")
    raw = body(PARTNER)
    signed = zone.signer("bank").sign(raw, "bank.example") + raw
    envelope = Envelope(PARTNER, (RECIPIENT,), PARTNER_IP, helo="mx.bank.example")
    found = verifier.authenticate(signed, envelope)
    assert found.summary() == "spf=pass dkim=pass dmarc=pass arc=none", found

    def cold() -> object:
        cache._entries.clear()
        return verifier.authenticate(signed, envelope)

    p50, p95 = _percentiles(cold, iterations)
    print(f"  {'verify SPF+DKIM+DMARC+ARC, cold':<34} {p50:7.2f} / {p95:7.2f}"
          "   (4 DNS queries to the loopback server)")
    p50, p95 = _percentiles(lambda: verifier.authenticate(signed, envelope), iterations)
    print(f"  {'verify SPF+DKIM+DMARC+ARC, cached':<34} {p50:7.2f} / {p95:7.2f}")


async def _deliver(port: int, sender: str, message: bytes, client_ip: str) -> int:
    client = aiosmtplib.SMTP(hostname="127.0.0.1", port=port, start_tls=False, timeout=60,
                             local_hostname="relay.bench.test")
    await client.connect()
    try:
        await client.ehlo()
        await client.execute_command(b"XFORWARD", f"ADDR={client_ip}".encode())
        await client.sendmail(sender, [RECIPIENT], message)
    except aiosmtplib.SMTPResponseException as exc:
        return exc.code
    finally:
        with contextlib.suppress(aiosmtplib.SMTPException):
            await client.quit()
    return 250


async def _load(port: int, sender: str, message: bytes, client_ip: str, count: int,
                seconds: float) -> tuple[float, int]:
    remaining = iter(range(count))
    deadline = time.perf_counter() + seconds
    codes: list[int] = []

    async def session() -> None:
        for _ in remaining:
            codes.append(await _deliver(port, sender, message, client_ip))
            if time.perf_counter() > deadline:
                return

    started = time.perf_counter()
    await asyncio.gather(*(session() for _ in range(SESSIONS)))
    refused = [code for code in codes if code != 250]
    if refused:
        raise SystemExit(f"{len(refused)} of {len(codes)} messages refused ({refused[0]})")
    return len(codes) / (time.perf_counter() - started), len(codes)


def gateway(servers: Servers, work: Path, zone: AuthZone, mode: str) -> Server:
    """`tth-gateway serve`, accept-all policy, with authentication `off`, `sign` or `verify`."""
    server = servers.gateway()
    config = Path(server.command[server.command.index("--config") + 1])
    text = config.read_text()  # bench/relay.py's settings: authentication off
    if mode != "off":
        text = text.replace("authentication:\n  verify: false\n", "")
        text += f"dns:\n  resolvers: [\"{zone.server.address}\"]\n"
    if mode == "sign":
        text += "dkim:\n  signing:\n" + "".join(
            f"    - {{domain: {key.domain}, selector: {key.selector}, key: {key.path}}}\n"
            for key in (zone.keys["official"], zone.keys["official-ed"]))
    config.write_text(text)
    return Server(f"gateway {mode}", server.command, server.port)


def relay(zone: AuthZone, work: Path, count: int, seconds: float) -> None:
    sink_port, sink_output = free_port(), work / "sink.out"
    servers = Servers(work, sink_port, accept_all_policies(work / "policies"))
    agency = body(AGENCY)
    raw = body(PARTNER)
    partner = zone.signer("bank").sign(raw, "bank.example") + raw
    runs = [
        ("null relay", servers.null(), AGENCY, agency, AGENCY_IP),
        ("gateway, authentication off", gateway(servers, work, zone, "off"), AGENCY, agency,
         AGENCY_IP),
        ("gateway, signing agency mail", gateway(servers, work, zone, "sign"), AGENCY, agency,
         AGENCY_IP),
        ("gateway, verifying mail from outside", gateway(servers, work, zone, "verify"),
         PARTNER, partner, PARTNER_IP),
    ]
    print(f"\nrelay, {len(agency) / 1e3:.1f} KB messages, {SESSIONS} sessions, "
          "a connection per message")
    rates: dict[str, float] = {}
    with running(counting_sink(sink_port, sink_output), work):
        for name, server, sender, message, client_ip in runs:
            with running(server, work):
                uvloop.run(_load(server.port, sender, message, client_ip, SESSIONS, seconds))
                rate, sent = uvloop.run(_load(server.port, sender, message, client_ip, count,
                                              seconds))
            rates[name] = rate
            null, base = rates["null relay"], rates.get("gateway, authentication off", rate)
            print(f"  {name:<38} {rate:7.1f} msg/s  x{rate / null:.2f} of null  "
                  f"{1000 / rate - 1000 / base:+6.2f} ms/msg against authentication off"
                  f"  ({sent} messages)")
    print(f"  smtp-sink received {sunk(sink_output, 0, 1)} messages")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iterations", type=int, default=200)
    parser.add_argument("--messages", type=int, default=1500)
    parser.add_argument("--seconds", type=float, default=10.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="tth-bench-auth-") as directory:
        work = Path(directory)
        zone = build_zone(work / "keys")
        with zone.server.running():
            in_process(zone, args.iterations)
            relay(zone, work, args.messages, args.seconds)



if __name__ == "__main__":
    main()
