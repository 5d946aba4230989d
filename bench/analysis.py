"""Analysis time per message, against parsing the same bytes with email.message_from_bytes.

Cases: a 100 KB PDF, a 5 MB PDF, a ZIP, a 7z and a tar.gz of 10 PDFs (100 KB each), a 25 MB
attachment (a PDF scan, with a text layer). Signature checks are left out (signatures=None;
see bench/signatures.py): this measures the MIME walk, the magic-byte typing, text
extraction and the classifiers.

Run: .venv/bin/python bench/analysis.py [--scale F]  (20/5/10/10/10/3 runs per case; under 60 s)
"""

from __future__ import annotations

import argparse
import email
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from gateway.analysis.analyse import analyse
from gateway.policy.loader import load_policy
from tests.fixtures.archives import seven_zip_of, tar_of
from tests.fixtures.documents import (
    Attachment,
    OfficialPaper,
    message,
    official_pdf,
    to_bytes,
    zip_of,
)

POLICIES = Path(__file__).resolve().parents[1] / "policies"
BUDGET_SECONDS = 50.0
OCTET = "application/octet-stream"


def _pdf(noise_bytes: int, stamp: str | None = None) -> bytes:
    """A three-page official PDF; the noise image makes up its size (a scan's weight)."""
    return official_pdf(OfficialPaper(stamp=stamp, pages=3, noise_image_bytes=noise_bytes))


def _cases() -> dict[str, tuple[bytes, int]]:
    """name -> (message bytes, iterations): fewer runs for the heavy cases."""
    small = _pdf(35_000)
    members = {f"Giấy mời {i}.pdf": small for i in range(10)}
    archive = zip_of(members)
    cases = {
        "100 KB PDF": ([Attachment("Giấy mời.pdf", small)], 20),
        "5 MB PDF": ([Attachment("Báo cáo.pdf", _pdf(3_600_000))], 5),
        "ZIP of 10 PDFs": ([Attachment("Hồ sơ.zip", archive, "application/zip")], 10),
        "7z of 10 PDFs": ([Attachment("Hồ sơ.7z", seven_zip_of(members), OCTET)], 10),
        "tar.gz of 10 PDFs": ([Attachment("Hồ sơ.tar.gz", tar_of(members, "gz"), OCTET)], 10),
        "25 MB attachment": ([Attachment("Bản scan.pdf", _pdf(18_000_000, stamp="MẬT"))], 3),
    }
    return {
        name: (to_bytes(message(attachments=attachments)), runs)
        for name, (attachments, runs) in cases.items()
    }


def _median_ms(run: Callable[[], object], iterations: int, deadline: float) -> float:
    samples: list[float] = []
    for _ in range(iterations):
        start = time.perf_counter()
        run()
        samples.append((time.perf_counter() - start) * 1000)
        if time.monotonic() > deadline:
            break
    return statistics.median(samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--scale", type=float, default=1.0, help="multiply the iterations")
    args = parser.parse_args()
    settings = load_policy(POLICIES).analysis_settings
    started = time.monotonic()
    cases = _cases()
    print(f"built fixtures in {time.monotonic() - started:.1f} s")
    print(f"{'case':<18} {'message':>10} {'null ms':>9} {'analysis ms':>12} {'ratio':>7}  found")
    deadline = started + BUDGET_SECONDS
    for name, (data, runs) in cases.items():
        iterations = max(1, round(runs * args.scale))
        result = analyse(data, settings, None)
        null = _median_ms(lambda d=data: email.message_from_bytes(d), iterations, deadline)
        full = _median_ms(
            lambda d=data: analyse(d, settings, None),
            iterations,
            deadline,
        )
        types = sorted({f"{doc.doc_type}/{doc.classification}" for doc in result.documents[1:]})
        print(f"{name:<18} {len(data) / 1e6:>8.2f}MB {null:>9.1f} {full:>12.1f} "
              f"{full / null:>6.1f}x  {', '.join(types)}")
    print(f"total {time.monotonic() - started:.1f} s")


if __name__ == "__main__":
    main()
