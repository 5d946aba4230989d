"""One message cannot stall the gateway through the policy's regular expressions: a rule
whose regex takes exponential time gets the message a temporary failure after
POLICY_SECONDS, and the shipped agency-name patterns see a bounded part of a display name
however long it is. `serve` runs as a process: the time limit is a SIGALRM in its main
thread (the in-process test gateway runs in a thread, where nothing can interrupt a
regex)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from gateway.deciding.bounded import PolicyTooSlow, within_time_limit
from gateway.policy.conditions.base import MATCHED_CHARS
from gateway.policy.verdict import Verdict
from tests.support.live import OUTSIDE_IP, Client, Outcome, copy_policies
from tests.support.served import serving
from tests.support.sink import Sink

CITIZEN = "nguoidan@example.org"
OFFICIAL = "vanthu@thuathienhue.gov.vn"
COSTLY_RULE = """
rules:
  - name: costly-subject-test
    description: test rule with a regex that backtracks exponentially on 'aaaa…b'
    when:
      header: {name: Subject, matches: '^(a+)+$'}
    action: tag
    headers:
      X-TTH-Warning: "costly"
"""


@dataclass(frozen=True)
class Served:
    address: tuple[str, int]
    audit: Path

    def send(self, message: bytes) -> Outcome:
        with Client(self.address, OUTSIDE_IP) as client:
            return client.send(CITIZEN, [OFFICIAL], message, utf8=True)

    def last_audit(self) -> dict[str, Any]:
        line = self.audit.read_text("utf-8").splitlines()[-1]
        return dict(json.loads(line))


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    tmp = tmp_path_factory.mktemp("policy-time")
    policies = copy_policies(tmp / "default-policies")
    (policies / "zz-costly.yaml").write_text(COSTLY_RULE, "utf-8")
    sink = Sink()
    sink.start()
    try:
        with serving(tmp, sink.address, "--policies", str(policies),
                     quarantine=f"{{path: {tmp / 'quarantine'}}}") as (port, _, _):
            yield Served(("127.0.0.1", port), tmp / "audit.jsonl")
    finally:
        sink.stop()


def letter(subject: str, display_name: str = "Nguyen Van A") -> bytes:
    """A letter whose From display name is folded into lines of twelve words."""
    words = display_name.split()
    name = "\r\n ".join(" ".join(words[i:i + 12]) for i in range(0, len(words), 12))
    return (f'From: "{name}" <{CITIZEN}>\r\nTo: {OFFICIAL}\r\nSubject: {subject}\r\n'
            "Content-Type: text/plain; charset=utf-8\r\n\r\nNội dung.\r\n").encode()


def test_a_regex_gone_exponential_tempfails_and_the_gateway_goes_on(served: Served) -> None:
    outcome = served.send(letter("a" * 40 + "b"))
    assert outcome.data is not None and outcome.data[0] == 451, outcome
    assert served.last_audit()["outcome"] == "tempfailed"
    assert served.send(letter("aaaa")).final[0] == 250


def test_a_display_name_of_any_length_is_judged_on_its_start(served: Served) -> None:
    """50 000 × "ubnd" took 64 s of the shipped agency-name patterns, all on the event loop
    (now bounded by MATCHED_CHARS, far within POLICY_SECONDS)."""
    outcome = served.send(letter("Hỏi", "ubnd " * 50_000))
    assert outcome.final[0] == 250, outcome
    spoof = "UBND tỉnh Thừa Thiên Huế " + "xin chao " * MATCHED_CHARS
    refused = served.send(letter("Hỏi", spoof))
    assert refused.final[0] == 550, refused
    assert "display-name-spoofing" in [r["name"] for r in served.last_audit()["rules"]]


def test_within_time_limit_interrupts_and_says_why() -> None:
    import re

    def costly() -> Verdict:
        re.search("^(a+)+$", "a" * 60 + "b")
        return Verdict()

    with pytest.raises(PolicyTooSlow, match="regular expression"):
        within_time_limit(costly, seconds=0.2)
    assert within_time_limit(Verdict) == Verdict()
