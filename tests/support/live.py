"""Helpers for tests through the live gateway with its whole decision side.

`live_settings` builds the settings of a gateway that loads policies, the trust
store, the analysis workers and the quarantine; `Client` speaks SMTP to it as a
relay would (XFORWARD names the real client); `Outcome` keeps every reply.
"""

from __future__ import annotations

import json
import shutil
import smtplib
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from prometheus_client import REGISTRY

from gateway.config import Settings
from gateway.service.serve import Gateway
from tests.fixtures.pki import Pki
from tests.support.dnsserver import shared_dns
from tests.support.running import running_gateway
from tests.support.sink import Received, Sink, free_port

POLICIES = Path(__file__).resolve().parents[2] / "policies"
COMMAND = Path(sys.executable).parent / "tth-gateway"
#: The default policy's security officer (policies/settings.yaml).
OFFICER = "baomat@thuathienhue.gov.vn"
#: Labels of `tth_upstream_connections`.
IN_USE = {"state": "in_use"}
IDLE = {"state": "idle"}
INSIDE_IP = "10.1.2.3"
OUTSIDE_IP = "203.0.113.7"


def copy_policies(target: Path) -> Path:
    """A private copy of the default policy folder, for tests that edit it."""
    shutil.copytree(POLICIES, target)
    return target


def live_settings(
    upstream: str,
    tmp: Path,
    *,
    policies: Path = POLICIES,
    pki: Pki | None = None,
    time_limit: float = 30.0,
    watch_interval: float = 60.0,
    dns: str | None = None,
    watch: bool = False,
) -> Settings:
    """Settings of a gateway on a free loopback port with the full decision side."""
    trust = {} if pki is None else {
        "anchors": str(pki.anchors), "intermediates": str(pki.intermediates),
        "crls": str(pki.crls),
    }
    data: dict[str, Any] = {
        "server": {"listen": [f"127.0.0.1:{free_port()}"], "hostname": "gw.test",
                   "shutdown_grace": 2.0},
        "upstream": {"address": upstream, "timeout": 10.0, "connect_timeout": 2.0,
                     "starttls": "off"},
        "metrics": {"listen": None},
        "audit": {"path": str(tmp / "audit.jsonl")},
        "policies": str(policies),
        "trust": trust,
        "quarantine": {"path": str(tmp / "quarantine")},
        "analysis": {"workers": 1, "time_limit": time_limit,
                     "watch_interval": watch_interval, "watch": watch},
        "dns": {"resolvers": [dns or shared_dns()]},
    }
    return Settings.model_validate(data, strict=False)


@dataclass(frozen=True)
class Live:
    """A running gateway in front of a sink, and where its files are."""

    gateway: Gateway
    sink: Sink
    settings: Settings

    @property
    def address(self) -> tuple[str, int]:
        host, port = self.gateway.addresses()[0]
        return str(host), int(port)

    def audit(self) -> list[dict[str, Any]]:
        path = self.settings.audit.path
        assert path is not None
        lines = path.read_text("utf-8").splitlines() if path.exists() else []
        return [json.loads(line) for line in lines]

    def last_audit(self, seconds: float = 5.0) -> dict[str, Any]:
        """The audit record written for the last transaction."""
        deadline = time.monotonic() + seconds
        records = self.audit()
        while not records and time.monotonic() < deadline:
            time.sleep(0.02)
            records = self.audit()
        return records[-1]


@contextmanager
def live_gateway(sink: Sink, settings: Settings) -> Iterator[Live]:
    with running_gateway(settings) as gateway:
        yield Live(gateway, sink, settings)


@contextmanager
def live_with_rules(tmp: Path, name: str, rules: str) -> Iterator[Live]:
    """A live gateway on the default policy plus the rule file `name` holding `rules`."""
    policies = copy_policies(tmp / "policies")
    (policies / name).write_text(rules, "utf-8")
    with started_sink() as sink, \
            live_gateway(sink, live_settings(sink.address, tmp, policies=policies)) as gateway:
        yield gateway


@contextmanager
def started_sink() -> Iterator[Sink]:
    sink = Sink()
    sink.start()
    try:
        yield sink
    finally:
        sink.stop()


@dataclass
class Outcome:
    """Every reply of one transaction: MAIL, each RCPT, and DATA (None when not reached)."""

    mail: tuple[int, str]
    rcpt: dict[str, tuple[int, str]] = field(default_factory=dict)
    data: tuple[int, str] | None = None

    @property
    def final(self) -> tuple[int, str]:
        """The reply that ended the transaction."""
        if self.data is not None:
            return self.data
        if self.mail[0] != 250 or not self.rcpt:
            return self.mail
        return list(self.rcpt.values())[-1]


def _text(answer: tuple[int, bytes]) -> tuple[int, str]:
    return answer[0], answer[1].decode("utf-8", "replace")


class Client:
    """One SMTP session to the gateway as a trusted relay, naming the client by XFORWARD."""

    def __init__(self, address: tuple[str, int], client_ip: str | None = INSIDE_IP) -> None:
        self.smtp = smtplib.SMTP(*address, timeout=30)
        self.smtp.ehlo("relay.test")
        if client_ip is not None:
            code, text = self.smtp.docmd(f"XFORWARD ADDR={client_ip} NAME=[UNAVAILABLE]")
            assert code == 250, text

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            self.smtp.quit()
        except smtplib.SMTPException:
            self.smtp.close()

    def mail(self, sender: str, utf8: bool = False) -> tuple[int, str]:
        options = ["SMTPUTF8", "BODY=8BITMIME"] if utf8 else ["BODY=8BITMIME"]
        return _text(self.smtp.mail(sender, options))

    def rcpt(self, recipient: str) -> tuple[int, str]:
        return _text(self.smtp.rcpt(recipient))

    def data(self, message: bytes) -> tuple[int, str]:
        return _text(self.smtp.data(message))

    def send(self, sender: str, recipients: Sequence[str], message: bytes, *,
             utf8: bool = False) -> Outcome:
        """MAIL, each RCPT, DATA when a recipient was accepted; RSET after a refusal."""
        outcome = Outcome(self.mail(sender, utf8))
        if outcome.mail[0] != 250:
            return outcome
        for recipient in recipients:
            outcome.rcpt[recipient] = self.rcpt(recipient)
        if any(code == 250 for code, _ in outcome.rcpt.values()):
            outcome.data = self.data(message)
        else:
            self.smtp.rset()
        return outcome


def send(live: Live, sender: str, recipients: Sequence[str], message: bytes, *,
         client_ip: str | None = INSIDE_IP, utf8: bool = False) -> Outcome:
    """One message in its own session."""
    with Client(live.address, client_ip) as client:
        return client.send(sender, recipients, message, utf8=utf8)


def wait_for(sink: Sink, count: int, seconds: float = 10.0) -> list[Received]:
    """Wait until the sink holds at least `count` messages; returns them."""
    deadline = time.monotonic() + seconds
    while len(sink.messages) < count and time.monotonic() < deadline:
        time.sleep(0.02)
    return list(sink.messages)


def arrivals(sink: Sink, before: int, expected: int, seconds: float = 10.0) -> list[Received]:
    """The messages that reached the sink after the first `before`, once `expected` did."""
    return wait_for(sink, before + expected, seconds)[before:]


def header_block(received: Received) -> str:
    """The header section of what the sink received, decoded."""
    head, _, _ = received.content.partition(b"\r\n\r\n")
    return head.decode("utf-8", "replace")


def rule_hits(rule: str, mode: str, action: str) -> float:
    """The current value of `tth_rule_hits_total` for one rule."""
    labels = {"rule": rule, "mode": mode, "action": action}
    return REGISTRY.get_sample_value("tth_rule_hits_total", labels) or 0.0


def metric(name: str, labels: dict[str, str] | None = None) -> float:
    return REGISTRY.get_sample_value(name, labels or {}) or 0.0


def command(*argv: str, cwd: Path) -> subprocess.CompletedProcess[bytes]:
    """`tth-gateway ARGV…` as a separate process."""
    return subprocess.run([str(COMMAND), *argv], capture_output=True, timeout=120,
                          check=False, cwd=cwd)


def write_config(settings: Settings, path: Path) -> Path:
    """The settings as a config file for the `tth-gateway` commands."""
    path.write_text(json.dumps(settings.model_dump(mode="json")), "utf-8")
    return path
