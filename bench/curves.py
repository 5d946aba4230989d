"""Cost curves of the analysis and the policy (issue 14): does the cost grow linearly?

    python bench/curves.py [--budget 90]

1. analysis time against message size: a citizen's message carrying a scanned,
   image-only PDF of 1 KB ... 25 MB on the wire;
2. analysis time against the number of MIME parts: multipart/mixed of 10 ... 50 000
   small text parts;
3. policy evaluation time against the number of rules: generated policies of 20 ... 500
   rules (bench/policy.py's generator) on bench/policy.py's mix of messages.
The analysis is `analyse()` with the DEFAULT policy's analysis settings (in-process, no
worker, no signature: none of these messages is signed). Each point is the median of a
few runs; a point whose predicted time (1.5 times the last point's cost per unit) would
overrun the time budget is printed as "skipped". Each table ends with the least-squares
slope (the cost per KB, per part, per rule) and R^2.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.policy import generated_policy, messages
from bench.realistic_messages import CITIZEN, OFFICIAL, letter
from gateway.analysis.analyse import analyse
from gateway.policy.engine import evaluate_transaction
from gateway.policy.loader import load_policy
from tests.fixtures.documents import Attachment, message, scanned_pdf, to_bytes

ROOT = Path(__file__).resolve().parents[1]
KB = 1024
SIZES_KB = (1, 10, 100, 1024, 5 * 1024, 25 * 1024)
PARTS = (10, 100, 1000, 5000, 20_000, 50_000)
RULES = (20, 50, 100, 200, 500)
#: A point of a curve: its x (KB, parts, rules) and the run to time.
Point = tuple[float, Callable[[], object]]


class Budget:
    """The seconds left for the whole run."""

    def __init__(self, seconds: float) -> None:
        self.deadline = time.monotonic() + seconds

    def left(self) -> float:
        return self.deadline - time.monotonic()


def median_seconds(run: Callable[[], object], predicted: float) -> float:
    """The median of up to 5 runs (1 for a point predicted above a second)."""
    runs = 1 if predicted > 1.0 else 3 if predicted > 0.1 else 5
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        run()
        samples.append(time.perf_counter() - started)
    return statistics.median(samples)


def fit(points: list[tuple[float, float]]) -> tuple[float, float, float]:
    """Least-squares slope, intercept and R^2 of (x, y) points."""
    if len(points) < 2:
        return float("nan"), float("nan"), float("nan")
    xs, ys = zip(*points, strict=True)
    slope, intercept = statistics.linear_regression(xs, ys)
    mean = statistics.fmean(ys)
    total = sum((y - mean) ** 2 for y in ys)
    residual = sum((y - (slope * x + intercept)) ** 2 for x, y in points)
    return slope, intercept, 1 - residual / total if total else 1.0


def curve(title: str, unit: str, scale: float, scale_name: str,
          points: list[tuple[float, Callable[[], Point]]], budget: Budget,
          share: float) -> None:
    """Measure and print one curve; `points` are (nominal x, make the point), increasing."""
    print(f"\n{title}")
    print(f"  {unit:>10} {'ms':>10} {scale_name:>14}")
    stop = time.monotonic() + budget.left() * share
    measured: list[tuple[float, float]] = []
    per_unit = 0.0
    for nominal, make in points:
        predicted = 1.5 * per_unit * nominal
        if measured and time.monotonic() + predicted > stop:
            print(f"  {nominal:>10.0f} {'skipped':>10}   (predicted {predicted:.1f} s, "
                  "over budget)")
            continue
        x, run = make()
        seconds = median_seconds(run, predicted)
        per_unit = seconds / x
        measured.append((x, seconds * 1000))
        print(f"  {x:>10.0f} {seconds * 1000:>10.2f} {per_unit * 1000 * scale:>14.3f}")
    slope, intercept, r2 = fit(measured)
    print(f"  least squares: {slope * scale:.3f} {scale_name} + {intercept:.2f} ms, "
          f"R^2 = {r2:.4f}")


def _analysis(data: bytes) -> Callable[[], object]:
    return lambda: analyse(data, SETTINGS, None)


def _sized(kb: int) -> Point:
    """(its size in KB, its analysis) of a message carrying a scan of about `kb` KB."""
    image = max(64, int(kb * KB / 1.9) - 1800)  # base64 and the PDF's ASCII85
    data = to_bytes(message(sender=CITIZEN, to=OFFICIAL, body="Xin gửi bản scan.\n",
                            attachments=[Attachment("Bản scan.pdf", scanned_pdf(image))]))
    return len(data) / KB, _analysis(data)


def parted(count: int) -> bytes:
    """A multipart/mixed message of `count` small text parts (CRLF)."""
    part = ("--PARTS\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
            "Phần {n}: ý kiến của công dân về thủ tục hành chính.\r\n")
    body = "".join(part.format(n=n) for n in range(count)) + "--PARTS--\r\n"
    head = (f"From: {CITIZEN}\r\nTo: {OFFICIAL}\r\nSubject: nhieu phan\r\nMIME-Version: 1.0\r\n"
            'Content-Type: multipart/mixed; boundary="PARTS"\r\n\r\n')
    return (head + body).encode()


def _parts(count: int) -> Point:
    return count, _analysis(parted(count))


def _rules(count: int) -> Point:
    policy = generated_policy(count)
    mix = messages(policy)

    def run() -> None:
        for _ in range(20):
            for value in mix:
                evaluate_transaction(policy, *value)

    return count, run


SETTINGS = load_policy(ROOT / "policies").analysis_settings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budget", type=float, default=90.0, help="seconds for all curves")
    args = parser.parse_args()
    budget = Budget(args.budget)
    started = time.monotonic()
    alone = median_seconds(_analysis(letter()), 0) * 1000
    print(f"(the 8.5 KB letter alone: analysis {alone:.2f} ms)")
    curve("Analysis time against message size (a scanned PDF)", "KB", 1000.0, "µs per KB",
          [(kb, lambda kb=kb: _sized(kb)) for kb in SIZES_KB], budget, 0.45)
    curve("Analysis time against MIME parts (small text parts)", "parts", 1000.0,
          "µs per part", [(n, lambda n=n: _parts(n)) for n in PARTS], budget, 0.75)
    curve("Policy time against rules (ms for 100 messages: 20 times a mix of 5)", "rules",
          10.0, "µs/msg/rule", [(n, lambda n=n: _rules(n)) for n in RULES], budget, 1.0)
    print(f"\n({time.monotonic() - started:.0f} s)")


if __name__ == "__main__":
    main()
