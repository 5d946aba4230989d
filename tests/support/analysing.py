"""Shared pieces of the analysis tests: the `analysed` fixture's type, and `Recorder`, an
analysis signature port that records what it is given."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field

from gateway.analysis.model import Analysis
from gateway.signatures.model import (
    SignatureKind,
    SignatureResult,
    SignatureStatus,
    SignatureVerdict,
)

#: `analysed(message or bytes, with_settings=..., signatures=...) -> Analysis` (conftest).
Analyser = Callable[..., Analysis]

#: A PDF that ends with these bytes is one `Recorder` finds validly signed.
SIGNED_MARK = b"%signed-by-test"


def _verdict(status: SignatureStatus, kind: SignatureKind) -> SignatureVerdict:
    return SignatureVerdict(status, (SignatureResult(kind, status),), "own")


@dataclass
class Recorder:
    """A `SignatureChecking` whose verdicts are decided by the bytes it is given."""

    smime_status: SignatureStatus = SignatureStatus.VALID
    calls: list[tuple[str, bytes, bytes]] = field(default_factory=list)

    def check_pdf(self, data: bytes, sha256: str | None = None) -> SignatureVerdict:
        assert sha256 is None or sha256 == hashlib.sha256(data).hexdigest()
        self.calls.append(("pdf", data, b""))
        if SIGNED_MARK in data:
            return _verdict(SignatureStatus.VALID, SignatureKind.PDF)
        return SignatureVerdict()

    def check_detached(self, content: bytes, signature: bytes) -> SignatureVerdict:
        self.calls.append(("detached", content, signature))
        status = SignatureStatus.VALID if signature == b"sig:" + content[:20] else (
            SignatureStatus.INVALID)
        return _verdict(status, SignatureKind.DETACHED_CMS)

    def check_smime_signed(
        self,
        signed_part: bytes,
        signature: bytes,
        from_address: str | None,
        from_problem: str | None = None,
    ) -> SignatureVerdict:
        self.calls.append(("smime", signed_part, (from_address or "").encode()))
        return _verdict(self.smime_status, SignatureKind.SMIME)

    def check_smime_opaque(
        self, pkcs7: bytes, from_address: str | None, from_problem: str | None = None
    ) -> tuple[SignatureVerdict, bytes | None]:
        from gateway.analysis.smime import enclosed_content

        self.calls.append(("opaque", pkcs7, (from_address or "").encode()))
        return _verdict(self.smime_status, SignatureKind.SMIME), enclosed_content(pkcs7)
