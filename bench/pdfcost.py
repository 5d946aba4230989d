"""The analysis of one realistic message with a PDF, in a loop, for a profiler (issue 14).

    python bench/pdfcost.py letter|resent|distinct [--seconds 15] [--no-text-cache]
    py-spy record -r 200 -f raw -o out.txt -- .venv/bin/python bench/pdfcost.py letter

letter    the citizen's letter with the typed 14-page petition PDF, sent again and again
resent    the partner's signed GIẤY MỜI, the same document each time
distinct  a different signed invitation each time (both caches emptied before each)
The default policy's analysis settings and a checker over the fixture PKI, as the analysis
workers run them; `--no-text-cache` analyses without the kept texts and readings (before
issue 14).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.realistic_messages import (
    invitation,
    invitation_pdf,
    invitations,
    letter_with_pdf,
)
from gateway.analysis.analyse import analyse
from gateway.analysis.readings import ReadingCache
from gateway.policy.loader import load_policy
from gateway.signatures.checker import build_checker
from gateway.signatures.settings import SignatureSettings
from gateway.signatures.trust import TrustSources
from tests.fixtures.pki import build_pki

POLICIES = Path(__file__).resolve().parents[1] / "policies"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("case", choices=("letter", "resent", "distinct"))
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument("--no-text-cache", action="store_true")
    args = parser.parse_args()
    settings = load_policy(POLICIES).analysis_settings
    with tempfile.TemporaryDirectory(prefix="tth-pdfcost-") as directory:
        pki = build_pki(Path(directory) / "pki")
        checker = build_checker(TrustSources(pki.anchors, pki.intermediates, pki.crls),
                                SignatureSettings())
        bodies = {"letter": lambda: [letter_with_pdf()],
                  "resent": lambda: [invitation(invitation_pdf(pki))],
                  "distinct": lambda: invitations(pki, 40)}[args.case]()
    readings = None if args.no_text_cache else ReadingCache()
    count, started = 0, time.perf_counter()
    while time.perf_counter() - started < args.seconds:
        if args.case == "distinct":
            checker.cache = type(checker.cache)(1)
            readings = None if readings is None else ReadingCache()
        analyse(bodies[count % len(bodies)], settings, checker, readings)
        count += 1
    elapsed = time.perf_counter() - started
    print(f"{args.case}: {count} analyses in {elapsed:.1f} s, {1000 * elapsed / count:.1f} ms "
          f"each ({'without' if args.no_text_cache else 'with'} kept texts)")


if __name__ == "__main__":
    main()
