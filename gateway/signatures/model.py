"""Value objects describing digital signatures and their validation outcome."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum


class SignatureStatus(StrEnum):
    """Outcome of validating a document's signature(s); see DESIGN.md."""

    VALID = "valid"
    MISSING = "missing"
    INVALID = "invalid"
    MODIFIED = "modified"
    UNTRUSTED = "untrusted"
    EXPIRED = "expired"
    REVOKED = "revoked"
    UNKNOWN = "unknown"


class SignatureKind(StrEnum):
    PDF = "pdf"
    DETACHED_CMS = "detached_cms"
    SMIME = "smime"


@dataclass(frozen=True, slots=True)
class Signer:
    """Identity taken from the signing certificate."""

    common_name: str | None = None
    organization: str | None = None
    organizational_unit: str | None = None
    email: str | None = None
    serial: str | None = None
    issuer: str | None = None


@dataclass(frozen=True, slots=True)
class SignatureResult:
    """One signature as the validator saw it."""

    kind: SignatureKind
    status: SignatureStatus
    detail: str = ""
    signer: Signer | None = None
    signing_time: datetime | None = None
    timestamped: bool = False
    coverage: str = ""
    field_name: str | None = None


@dataclass(frozen=True, slots=True)
class SignatureVerdict:
    """What a document's signatures add up to.

    `source` says where the status comes from: "own" (the document's own
    signatures), "smime" (inherited from the message's S/MIME signature) or
    "none" (no signature at all).
    """

    status: SignatureStatus = SignatureStatus.MISSING
    signatures: tuple[SignatureResult, ...] = field(default_factory=tuple)
    source: str = "none"
