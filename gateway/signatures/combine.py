"""The multi-signature rule: from each signature's status to the document's."""

from __future__ import annotations

from collections.abc import Sequence

from gateway.signatures.identity import is_organisation_signer
from gateway.signatures.model import SignatureResult, SignatureStatus, SignatureVerdict
from gateway.signatures.settings import SignatureSettings

SEVERITY = (
    SignatureStatus.INVALID,
    SignatureStatus.MODIFIED,
    SignatureStatus.REVOKED,
    SignatureStatus.UNTRUSTED,
    SignatureStatus.EXPIRED,
    SignatureStatus.UNKNOWN,
    SignatureStatus.VALID,
)
HARD_FAILURES = frozenset(
    {SignatureStatus.INVALID, SignatureStatus.MODIFIED, SignatureStatus.REVOKED}
)


def worst(statuses: Sequence[SignatureStatus]) -> SignatureStatus:
    """The most severe status (invalid first, valid last)."""
    return min(statuses, key=SEVERITY.index)


def _verdict(
    status: SignatureStatus, results: Sequence[SignatureResult], detail: str
) -> SignatureVerdict:
    return SignatureVerdict(status=status, signatures=tuple(results), source="own", detail=detail)


def _organisations(settings: SignatureSettings) -> tuple[str, ...]:
    return tuple(name for names in settings.agency_organisations.values() for name in names)


def combine(results: Sequence[SignatureResult], settings: SignatureSettings) -> SignatureVerdict:
    """The document's verdict under `settings.multi_signature_rule`.

    Under every rule a hard failure (`invalid`, `modified`, `revoked`) of any
    signature or document timestamp fails the document with the worst one, and
    a document without a signer signature (none, or only document timestamps)
    is `missing`. `all_valid`: every signature valid, else the worst status.
    `any_valid`: at least one valid signature. `any_organisation_valid`: at least
    one valid organisation signature (see `is_organisation_signer`); valid
    person signatures alone leave the document `untrusted`.
    """
    rule = settings.multi_signature_rule
    if not results:
        return SignatureVerdict()
    statuses = [result.status for result in results]
    hard = [status for status in statuses if status in HARD_FAILURES]
    if hard:
        failing = sum(1 for status in statuses if status in HARD_FAILURES)
        return _verdict(worst(hard), results, f"{rule}: {failing} of {len(results)} failed")
    signers = [result for result in results if not result.document_timestamp]
    if not signers:
        return SignatureVerdict(
            SignatureStatus.MISSING, tuple(results), "own", "only document timestamps"
        )
    valid = [result for result in signers if result.status == SignatureStatus.VALID]
    count = f"{len(valid)} of {len(signers)} signature(s) valid"
    if rule == "all_valid" or (rule == "any_valid" and not valid):
        return _verdict(worst(statuses), results, f"{rule}: {count}")
    if rule == "any_valid":
        return _verdict(SignatureStatus.VALID, results, f"{rule}: {count}")
    organisations = _organisations(settings)
    if any(is_organisation_signer(result.signer, organisations) for result in valid):
        return _verdict(SignatureStatus.VALID, results, f"{rule}: {count}, one by an organisation")
    if valid:
        detail = f"{rule}: {count}, none by an organisation certificate"
        return _verdict(SignatureStatus.UNTRUSTED, results, detail)
    return _verdict(worst(statuses), results, f"{rule}: {count}")
