"""p50/p95 validation time of a signed 100 KB and 5 MB PDF, fresh (no cache) and cached.

Run: .venv/bin/python bench/signatures.py [--iterations N]  (default 20; well under 60 s)
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from gateway.signatures.checker import SignatureChecker, build_checker
from gateway.signatures.model import SignatureStatus
from gateway.signatures.settings import SignatureSettings
from gateway.signatures.trust import TrustSources
from tests.fixtures.pki import build_pki
from tests.fixtures.signed import SIZES, signed_pdf


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--iterations", type=int, default=20)
    iterations = parser.parse_args().iterations
    with tempfile.TemporaryDirectory() as directory:
        pki = build_pki(Path(directory))
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


if __name__ == "__main__":
    main()
