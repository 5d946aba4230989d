"""Time spent validating signatures in one analysis (for `tth_stage_seconds{stage=
"signatures"}`): a wrapper around the checker that adds up the time of each call."""

from __future__ import annotations

import time

from gateway.analysis.ports import SignatureChecking
from gateway.signatures.model import SignatureVerdict


class TimedChecking:
    """Delegates every check to `inner` and adds its duration to `seconds`."""

    def __init__(self, inner: SignatureChecking) -> None:
        self.inner = inner
        self.seconds = 0.0

    def _add(self, started: float) -> None:
        self.seconds += time.perf_counter() - started

    def check_pdf(self, data: bytes) -> SignatureVerdict:
        started = time.perf_counter()
        try:
            return self.inner.check_pdf(data)
        finally:
            self._add(started)

    def check_detached(self, content: bytes, signature: bytes) -> SignatureVerdict:
        started = time.perf_counter()
        try:
            return self.inner.check_detached(content, signature)
        finally:
            self._add(started)

    def check_smime_signed(
        self, signed_part: bytes, signature: bytes, from_address: str | None
    ) -> SignatureVerdict:
        started = time.perf_counter()
        try:
            return self.inner.check_smime_signed(signed_part, signature, from_address)
        finally:
            self._add(started)

    def check_smime_opaque(
        self, pkcs7: bytes, from_address: str | None
    ) -> tuple[SignatureVerdict, bytes | None]:
        started = time.perf_counter()
        try:
            return self.inner.check_smime_opaque(pkcs7, from_address)
        finally:
            self._add(started)
