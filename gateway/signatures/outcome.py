"""From pyHanko's verdict on one CMS signature to our status and a one-line reason."""

from __future__ import annotations

from datetime import datetime

from pyhanko.sign.ades.report import AdESFailure, AdESIndeterminate, AdESSubIndic
from pyhanko.sign.validation.status import SignatureStatus as PyhankoStatus
from pyhanko.sign.validation.status import StandardCMSSignatureStatus
from pyhanko_certvalidator.errors import InvalidCertificateError

from gateway.signatures.context import Checking, key_usage_constraints
from gateway.signatures.model import (
    SignatureKind,
    SignatureResult,
    SignatureStatus,
    SignatureVerdict,
)
from gateway.signatures.settings import SignatureSettings

_REVOKED = {
    AdESIndeterminate.REVOKED_NO_POE,
    AdESIndeterminate.REVOKED_CA_NO_POE,
    AdESFailure.REVOKED,
}
_EXPIRED = {
    AdESIndeterminate.OUT_OF_BOUNDS_NO_POE,
    AdESIndeterminate.OUT_OF_BOUNDS_NOT_REVOKED,
    AdESIndeterminate.EXPIRED,
    AdESIndeterminate.NOT_YET_VALID,
    AdESFailure.NOT_YET_VALID,
}
_UNTRUSTED = {
    AdESIndeterminate.NO_CERTIFICATE_CHAIN_FOUND,
    AdESIndeterminate.CHAIN_CONSTRAINTS_FAILURE,
    AdESIndeterminate.NO_SIGNING_CERTIFICATE_FOUND,
}
_WEAK_ALGORITHM = {
    AdESIndeterminate.CRYPTO_CONSTRAINTS_FAILURE,
    AdESIndeterminate.CRYPTO_CONSTRAINTS_FAILURE_NO_POE,
}
Outcome = tuple[SignatureStatus, str]
_TOKEN_STATUS = {  # a timestamp's problem, as the status of the signature it dates
    SignatureStatus.INVALID: SignatureStatus.INVALID,
    SignatureStatus.UNKNOWN: SignatureStatus.UNKNOWN,
}


def _trust_detail(indic: AdESSubIndic, status: PyhankoStatus, settings: SignatureSettings) -> str:
    horizon = status.error_time_horizon
    when = f" at {horizon.isoformat()}" if horizon else ""
    if indic in _REVOKED:
        details = status.revocation_details
        whose = "an issuing CA certificate" if details and details.ca_revoked else "the signer"
        return f"{whose} certificate was revoked{when}"
    if indic in _EXPIRED:
        return f"certificate outside its validity period{when}"
    if indic == AdESIndeterminate.NO_CERTIFICATE_CHAIN_FOUND:
        return "no chain to a trusted anchor"
    if indic == AdESIndeterminate.CHAIN_CONSTRAINTS_FAILURE:
        usages = ", ".join(settings.key_usage)
        return f"certificate not acceptable for signing (policy key_usage: {usages})"
    if indic in _WEAK_ALGORITHM:
        algorithm = f"{status.md_algorithm}/{status.pkcs7_signature_mechanism}"
        return f"algorithm {algorithm} not allowed by policy (allow_sha1 is off)"
    if indic == AdESIndeterminate.TRY_LATER:
        return "revocation data not fresh (CRL past its nextUpdate, or none)"
    return f"revocation or chain status could not be established ({indic.standard_name})"


def trust_status(indic: AdESSubIndic) -> SignatureStatus:
    """Our status for pyHanko's AdES sub-indication."""
    if indic in _REVOKED:
        return SignatureStatus.REVOKED
    if indic in _EXPIRED:
        return SignatureStatus.EXPIRED
    if indic in _UNTRUSTED:
        return SignatureStatus.UNTRUSTED
    if indic in _WEAK_ALGORITHM or isinstance(indic, AdESFailure):
        return SignatureStatus.INVALID
    return SignatureStatus.UNKNOWN


def integrity(status: PyhankoStatus, what: str = "signature") -> Outcome | None:
    """`invalid` and why, when the signed bytes or the signature itself do not verify."""
    if not status.intact:
        return SignatureStatus.INVALID, f"{what}: signed data does not match its digest"
    if not status.valid:
        return SignatureStatus.INVALID, f"{what}: cryptographic signature does not verify"
    return None


def token_outcome(status: PyhankoStatus, what: str, settings: SignatureSettings) -> Outcome:
    """Status of a signature or timestamp token from integrity and trust."""
    broken = integrity(status, what)
    if broken:
        return broken
    indic = status.trust_problem_indic
    if indic is not None:
        return trust_status(indic), f"{what}: {_trust_detail(indic, status, settings)}"
    if not status.trusted:
        return SignatureStatus.UNTRUSTED, f"{what}: not trusted"
    return SignatureStatus.VALID, ""


def _timestamp_problem(
    status: StandardCMSSignatureStatus, settings: SignatureSettings
) -> Outcome | None:
    tokens = (
        ("timestamp", status.timestamp_validity),
        ("content timestamp", status.content_timestamp_validity),
    )
    for what, token in tokens:
        if token is None:
            continue
        found, detail = token_outcome(token, what, settings)
        if found != SignatureStatus.VALID:
            return _TOKEN_STATUS.get(found, SignatureStatus.UNTRUSTED), detail
    return None


def key_usage_problem(status: PyhankoStatus, settings: SignatureSettings) -> str | None:
    """The key-usage policy, enforced here rather than by pyHanko.

    RFC 5280 4.2.1.3 puts no restriction on a certificate without a KeyUsage
    extension, so only a KeyUsage that is present and lacks the policy's usages
    counts against the signer (pyHanko refuses a certificate without one, and its
    `default_usage_constraints` drops `match_all_key_usages`). An empty
    `key_usage` accepts any.
    """
    if status.signing_cert.key_usage_value is None or not settings.key_usage:
        return None
    try:
        key_usage_constraints(settings).validate(status.signing_cert)
    except InvalidCertificateError as exc:
        return f"signature: certificate not acceptable for signing ({exc})"
    return None


def cms_outcome(status: StandardCMSSignatureStatus, settings: SignatureSettings) -> Outcome:
    """Status and reason for a CMS signature; `valid` only when pyHanko's bottom line agrees."""
    outcome = token_outcome(status, "signature", settings)
    if outcome[0] != SignatureStatus.VALID:
        return outcome
    usage = key_usage_problem(status, settings)
    if usage:
        return SignatureStatus.UNTRUSTED, usage
    problem = _timestamp_problem(status, settings)
    if problem:
        return problem
    if not status.bottom_line:
        return SignatureStatus.INVALID, f"rejected by the validator ({status.summary()})"
    return SignatureStatus.VALID, ""


def _stale_crls(checking: Checking) -> list[str]:
    stale: list[str] = []
    for named, parsed in zip(checking.material.crls, checking.crls, strict=True):
        next_update = parsed["tbs_cert_list"]["next_update"].native
        if isinstance(next_update, datetime) and next_update < checking.now:
            stale.append(named.name)
    return stale


def policy_notes(status: PyhankoStatus, checking: Checking) -> tuple[str, ...]:
    """The explicit policy choices this signature relied on."""
    settings = checking.settings
    notes: list[str] = []
    if status.md_algorithm == "sha1" and settings.allow_sha1:
        notes.append("SHA-1 digest accepted by policy (allow_sha1)")
    usage = status.signing_cert.key_usage_value
    usages = sorted(usage.native) if usage is not None else []
    if usage is None:
        notes.append("signer certificate without KeyUsage extension: no restriction (RFC 5280)")
    elif "non_repudiation" not in usages:
        shown = ", ".join(usages) or "none"
        notes.append(f"signer key usage {shown} (no non_repudiation) checked by policy key_usage")
    stale = _stale_crls(checking)
    if settings.accept_stale_crl and stale:
        names = ", ".join(stale)
        notes.append(f"CRL past nextUpdate accepted by policy (accept_stale_crl): {names}")
    return tuple(notes)


def failed(kind: SignatureKind, error: Exception, field_name: str | None = None) -> SignatureResult:
    """Fail closed: a signature that makes the validator raise is `invalid`."""
    detail = f"validation failed: {type(error).__name__}: {error}"
    return SignatureResult(kind, SignatureStatus.INVALID, detail=detail, field_name=field_name)


def unsupported_format(protocol: str) -> SignatureVerdict:
    """A message signature in a format the gateway does not check (PGP/MIME): `unknown`."""
    name = "PGP/MIME" if "pgp" in protocol else (protocol or "unnamed")
    detail = f"{name} signature ({protocol or 'no protocol'}): format not supported"
    result = SignatureResult(SignatureKind.SMIME, SignatureStatus.UNKNOWN, detail=detail)
    return SignatureVerdict(SignatureStatus.UNKNOWN, (result,), "own", detail)
