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
    """One signature as the validator saw it.

    `coverage` is pyHanko's coverage level ("entire_file", "entire_revision", …);
    `later_revisions`/`appended_bytes` describe what was added after signing and
    `modification` how pyHanko's difference analysis judged it ("none",
    "lta_updates", "form_filling", "annotations", "other"). `validation_time` is
    the moment the certificate chain was checked at and `time_source` where it
    came from ("timestamp", "claimed" or "now"). `notes` record every explicit
    policy choice that affected the outcome (e.g. "sha1 accepted by policy").
    """

    kind: SignatureKind
    status: SignatureStatus
    detail: str = ""
    signer: Signer | None = None
    signing_time: datetime | None = None
    timestamped: bool = False
    coverage: str = ""
    field_name: str | None = None
    later_revisions: int = 0
    appended_bytes: int = 0
    modification: str = ""
    digest_algorithm: str = ""
    validation_time: datetime | None = None
    time_source: str = ""
    document_timestamp: bool = False
    notes: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class SignatureVerdict:
    """What a document's signatures add up to.

    `source` says where the status comes from: "own" (the document's own
    signatures), "smime" (inherited from the message's S/MIME signature) or
    "none" (no signature at all). `detail` explains how the signatures were
    combined (the multi-signature rule) when that is not obvious.
    """

    status: SignatureStatus = SignatureStatus.MISSING
    signatures: tuple[SignatureResult, ...] = field(default_factory=tuple)
    source: str = "none"
    detail: str = ""
