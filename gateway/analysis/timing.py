"""Time spent validating signatures in one analysis (for `tth_stage_seconds{stage=
"signatures"}`): a wrapper around the checker that adds up the time of each call."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager

from gateway.analysis.ports import SignatureChecking
from gateway.signatures.model import SignatureVerdict


class TimedChecking:
    """Delegates every check to `inner` and adds its duration to `seconds`."""

    def __init__(self, inner: SignatureChecking) -> None:
        self.inner = inner
        self.seconds = 0.0

    @contextmanager
    def _timed(self) -> Iterator[None]:
        started = time.perf_counter()
        try:
            yield
        finally:
            self.seconds += time.perf_counter() - started

    def check_pdf(self, data: bytes, sha256: str | None = None) -> SignatureVerdict:
        with self._timed():
            return self.inner.check_pdf(data, sha256)

    def check_detached(self, content: bytes, signature: bytes) -> SignatureVerdict:
        with self._timed():
            return self.inner.check_detached(content, signature)

    def check_smime_signed(
        self, signed_part: bytes, signature: bytes, from_address: str | None,
        from_problem: str | None = None,
    ) -> SignatureVerdict:
        with self._timed():
            return self.inner.check_smime_signed(signed_part, signature, from_address,
                                                 from_problem)

    def check_smime_opaque(
        self, pkcs7: bytes, from_address: str | None, from_problem: str | None = None
    ) -> tuple[SignatureVerdict, bytes | None]:
        with self._timed():
            return self.inner.check_smime_opaque(pkcs7, from_address, from_problem)
