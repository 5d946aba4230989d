"""Policy evaluation cost per message: the default policy, and a generated 500-rule policy.

Runs every step the live gateway runs for one message (MAIL, each RCPT,
after DATA) on a fixed mix of analyses built in memory, and prints the mean
and p95 cost per message in microseconds. Bounded: at most ROUNDS rounds
or BUDGET_SECONDS per policy, whichever comes first.
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from gateway.analysis.model import Analysis, Classification  # noqa: E402
from gateway.mail.envelope import Envelope  # noqa: E402
from gateway.policy.engine import direction_of, evaluate_transaction  # noqa: E402
from gateway.policy.loader import Policy, load_policy, load_sources  # noqa: E402
from gateway.signatures.model import SignatureStatus  # noqa: E402
from tests.support.builders import (  # noqa: E402
    INSIDE_IP,
    OUTSIDE_IP,
    address,
    analysis,
    document,
    envelope,
)

ROUNDS = 2000
BUDGET_SECONDS = 10.0
GENERATED_RULES = 500


def messages(policy: Policy) -> list[Analysis]:
    """A mix: citizen mail, agency mail with signed and unsigned documents, classified, spoofed."""
    cases: list[tuple[Envelope, dict[str, Any]]] = [
        (envelope("citizen@gmail.com", ("vanthu@thuathienhue.gov.vn",), OUTSIDE_IP), {}),
        (
            envelope("a@sotttt.thuathienhue.gov.vn", ("b@hue.gov.vn", "c@example.com"), INSIDE_IP),
            {"documents": (document("Giấy mời.pdf", "giay_moi", SignatureStatus.VALID),)},
        ),
        (
            envelope("a@thuathienhue.gov.vn", ("b@hue.gov.vn",), INSIDE_IP),
            {"documents": (document("Báo cáo.pdf", "bao_cao"), document("x.docx", "other"))},
        ),
        (
            envelope("a@thuathienhue.gov.vn", ("b@gmail.com",), INSIDE_IP),
            {"classification": Classification.MAT},
        ),
        (
            envelope("x@partner.example.com", ("vanthu@thuathienhue.gov.vn",), OUTSIDE_IP),
            {"from_": (address("x@partner.example.com", "UBND tỉnh Thừa Thiên Huế"),)},
        ),
    ]
    return [analysis(env, direction_of(policy, env), **extra) for env, extra in cases]


def generated_policy(count: int) -> Policy:
    """`count` rules over a spread of conditions, none of them stopping the evaluation."""
    lists = [f"  list{i}: {{domains: [d{i}.example.com, e{i}.example.org]}}" for i in range(20)]
    shapes = [
        "{{sender: {{in: list{k}}}, direction: inbound}}",
        "{{recipients: {{in: [list{k}, freemail_domains]}}}}",
        "{{from: {{not_in: list{k}}}, size: {{over: {n}}}}}",
        "{{display_name: {{matches: 'name{n}'}}}}",
        "{{doc_type: [giay_moi], signature: {{documents: designated, status_not_in: [valid]}}}}",
        "{{header: {{name: X-Test-{n}, matches: 'v{n}'}}}}",
        "{{sender: {{lookalike_of: official_domains}}, client_network: {{not_in: internal}}}}",
        "{{attachment: {{name: '*.{n}'}}, classification: {{at_least: toi_mat}}}}",
    ]
    rules = []
    for n in range(count):
        when = shapes[n % len(shapes)].format(k=n % 20, n=n)
        rules.append(f"  - name: rule-{n}\n    when: {when}\n    action: tag\n")
    text = (
        "lists:\n"
        "  official_domains: {domains: [thuathienhue.gov.vn, hue.gov.vn]}\n"
        "  freemail_domains: {domains: [gmail.com, yahoo.com]}\n"
        + "\n".join(lists)
        + "\nnetworks:\n  internal_networks: {networks: [10.0.0.0/8]}\n"
        "  internal: {networks: [10.0.0.0/8]}\n"
        "  trusted_relays: {networks: [127.0.0.0/8]}\n"
        "document_types:\n  - {id: giay_moi, name: Giấy mời, designated: true}\n"
        "rules:\n" + "".join(rules)
    )
    return load_sources([("generated.yaml", text)])


def measure(name: str, policy: Policy) -> float:
    mix = messages(policy)
    samples: list[float] = []
    started = time.perf_counter()
    for _ in range(ROUNDS):
        for value in mix:
            begin = time.perf_counter()
            evaluate_transaction(policy, *value)
            samples.append(time.perf_counter() - begin)
        if time.perf_counter() - started > BUDGET_SECONDS:
            break
    mean = statistics.fmean(samples) * 1e6
    p95 = statistics.quantiles(samples, n=20)[18] * 1e6
    print(
        f"{name:<28} rules={len(policy.rules):<4} messages={len(samples):<6} "
        f"mean={mean:8.1f} µs/message  p95={p95:8.1f} µs"
    )
    return mean


def main() -> None:
    started = time.perf_counter()
    default = measure("default policy", load_policy(ROOT / "policies"))
    begin = time.perf_counter()
    generated = generated_policy(GENERATED_RULES)
    load_ms = (time.perf_counter() - begin) * 1e3
    big = measure(f"generated {GENERATED_RULES}-rule policy", generated)
    print(f"load of the {GENERATED_RULES}-rule policy: {load_ms:.0f} ms")
    print(f"ratio generated/default: {big / default:.1f}x")
    print(f"total bench time: {time.perf_counter() - started:.1f} s")


if __name__ == "__main__":
    main()
