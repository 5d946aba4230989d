"""The signature validation policy (`signatures:` in policies/signatures.yaml), strict."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

KeyUsage = Literal[
    "digital_signature",
    "non_repudiation",
    "key_encipherment",
    "data_encipherment",
    "key_agreement",
    "key_cert_sign",
    "crl_sign",
    "encipher_only",
    "decipher_only",
]
MultiSignatureRule = Literal["all_valid", "any_valid", "any_organisation_valid"]
RevocationMode = Literal["if_declared", "require", "soft"]
FallbackTime = Literal["now", "claimed"]


def _default_key_usage() -> list[KeyUsage]:
    return ["digital_signature", "non_repudiation"]


class SignatureSettings(BaseModel):
    """Validation policy; every choice is explicit and reported in a signature's `notes`.

    - `key_usage`: a signer certificate with a KeyUsage extension must carry one
      of these key usages (all of them with `key_usage_match_all`); one without
      the extension is unrestricted (RFC 5280); `[]` accepts any.
    - `allow_sha1`: accept SHA-1 digests (old Vietnamese signatures).
    - `multi_signature_rule`: how several signatures make the document's status
      (see `gateway.signatures.combine`).
    - `accept_stale_crl`: use CRLs past their nextUpdate instead of `unknown`.
    - `revocation`: when a CRL is needed (`if_declared`: the certificate names a
      CRL distribution point; `require`: always; `soft`: when available).
    - `fallback_time`: validation time without a timestamp (`now`, or the
      signing time the signer `claimed`).
    - `agency_organisations`: agency mail domain -> organisation names (O) its
      signatures carry, for `signer_matches_agency` and organisation signatures.
    """

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    key_usage: list[KeyUsage] = Field(default_factory=_default_key_usage)
    key_usage_match_all: bool = False
    allow_sha1: bool = False
    multi_signature_rule: MultiSignatureRule = "all_valid"
    accept_stale_crl: bool = False
    revocation: RevocationMode = "if_declared"
    fallback_time: FallbackTime = "now"
    cache_entries: int = Field(default=1024, ge=1, le=1_000_000)
    cache_ttl_seconds: float = Field(default=3600.0, gt=0)
    agency_organisations: dict[str, list[str]] = Field(default_factory=dict)

    @property
    def fingerprint(self) -> str:
        """A stable text form of every setting (part of cache keys)."""
        return self.model_dump_json()

    def __hash__(self) -> int:
        return hash(self.fingerprint)
