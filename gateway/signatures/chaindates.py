"""The validity dates of every certificate in a signer's path, the trust anchor included.

pyhanko-certvalidator never checks a trust anchor's own dates, and an expired
intermediate makes it give up with a general chain failure (our `unknown`).
Both mean the chain was not valid at the validation time: `expired`. The paths
are built with the validator's own path builder (trust roots, intermediates and
the certificates the signature carries); only the dates are read here.
"""

from __future__ import annotations

from datetime import datetime

from asn1crypto import cms, x509
from pyhanko.sign.validation.generic_cms import extract_certs_for_validation
from pyhanko_certvalidator import ValidationContext
from pyhanko_certvalidator.errors import PathBuildingError
from pyhanko_certvalidator.path import ValidationPath

from gateway.signatures.context import Checking
from gateway.signatures.model import SignatureStatus

#: Outcomes that an authority out of its dates overrides (a worse finding stays).
_OVERRIDDEN = frozenset({SignatureStatus.VALID, SignatureStatus.UNKNOWN})


def _name(cert: x509.Certificate) -> str:
    subject = cert.subject.native
    return str(subject.get("common_name") or cert.subject.human_friendly)


def _lapsed(path: ValidationPath, moment: datetime) -> str | None:
    """Why the first certificate of `path` (anchor first) outside its dates is, or None."""
    certs = list(path.iter_certs(include_root=True))
    anchored = len(certs) > len(list(path.iter_certs(include_root=False)))
    for index, cert in enumerate(certs):
        validity = cert["tbs_certificate"]["validity"]
        start, end = validity["not_before"].native, validity["not_after"].native
        if start <= moment <= end:
            continue
        if index == len(certs) - 1:
            role = "signer"
        elif index == 0 and anchored:
            role = "trust anchor"
        else:
            role = "intermediate CA"
        when = "not yet valid" if moment < start else f"expired {end.isoformat()}"
        return f"{role} certificate {_name(cert)!r} {when} (validation time {moment.isoformat()})"
    return None


async def lapsed_authority(
    signing_cert: x509.Certificate, signed_data: cms.SignedData, checking: Checking,
    moment: datetime,
) -> str | None:
    """The reason when every path from the signer to a trust anchor holds a certificate
    outside its validity at `moment`; None when one path is within its dates, or when
    there is no path at all (that is `untrusted`, found elsewhere)."""
    carried = extract_certs_for_validation(signed_data).other_certs
    context = ValidationContext(
        trust_roots=list(checking.roots), other_certs=[*checking.others, *carried],
        allow_fetching=False, moment=moment,
    )
    try:
        paths = await context.path_builder.async_build_paths(signing_cert)
    except PathBuildingError:
        return None
    reasons = [_lapsed(path, moment) for path in paths]
    if not reasons or any(reason is None for reason in reasons):
        return None
    return reasons[0]


async def dated(
    outcome: tuple[SignatureStatus, str],
    signing_cert: x509.Certificate | None,
    signed_data: cms.SignedData,
    checking: Checking,
    moment: datetime,
    validated: ValidationPath | None,
) -> tuple[SignatureStatus, str]:
    """`outcome`, or `expired` with the reason when an authority was out of its dates.

    `validated` is the path the validator accepted, if any: when it is within its dates,
    one path is, and the paths need not be built again. That holds with online fetching
    too, where it may run through a certificate fetched from an issuer's address (a
    renewed CA) that `lapsed_authority`, which never fetches, cannot build.
    """
    if outcome[0] not in _OVERRIDDEN or signing_cert is None:
        return outcome
    if validated is not None and _lapsed(validated, moment) is None:
        return outcome
    reason = await lapsed_authority(signing_cert, signed_data, checking, moment)
    if reason is None:
        return outcome
    return SignatureStatus.EXPIRED, f"signature: {reason}"
