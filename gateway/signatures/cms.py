"""Detached CMS (`.p7s`) and S/MIME signed-data, validated with pyHanko's generic CMS code."""

from __future__ import annotations

from dataclasses import replace

from asn1crypto import cms, pem
from cryptography.hazmat.primitives import hashes
from pyhanko.sign.general import extract_signer_info
from pyhanko.sign.validation import generic_cms
from pyhanko.sign.validation.status import StandardCMSSignatureStatus
from pyhanko_certvalidator import ValidationContext
from pyhanko_certvalidator.util import get_pyca_cryptography_hash

from gateway.signatures.chaindates import dated
from gateway.signatures.context import Checking
from gateway.signatures.identity import email_matches, signer_of
from gateway.signatures.model import SignatureKind, SignatureResult, SignatureStatus
from gateway.signatures.outcome import cms_outcome, policy_notes
from gateway.signatures.timing import validation_time

_PEM_TYPES = frozenset({"PKCS7", "CMS", "PKCS #7 SIGNED DATA"})


def signed_data_of(blob: bytes) -> cms.SignedData:
    """The SignedData in a DER or PEM (PKCS7/CMS) blob; ValueError otherwise."""
    if pem.detect(blob):
        kind, _headers, blob = pem.unarmor(blob)
        if kind not in _PEM_TYPES:
            raise ValueError(f"PEM block {kind!r} is not a CMS signature")
    info = cms.ContentInfo.load(blob)
    if info["content_type"].native != "signed_data":
        raise ValueError(f"CMS content type {info['content_type'].native!r} is not signed-data")
    signed_data = info["content"]
    if not isinstance(signed_data, cms.SignedData):
        raise ValueError("CMS content is not signed-data")
    return signed_data


def enclosed_content(signed_data: cms.SignedData) -> bytes | None:
    """The encapsulated content of signed-data, or None when detached."""
    content = signed_data["encap_content_info"]["content"]
    if isinstance(content, cms.ParsableOctetString):
        return bytes(content)
    native = content.native
    if native is None:
        return None
    if not isinstance(native, bytes):
        raise ValueError("enclosed content is not plain data")
    return native


def _digest(data: bytes, algorithm: str) -> bytes:
    hasher = hashes.Hash(get_pyca_cryptography_hash(algorithm))
    hasher.update(data)
    return hasher.finalize()


async def _enclosed_status(
    signed_data: cms.SignedData,
    content: bytes,
    signer_context: ValidationContext,
    checking: Checking,
) -> StandardCMSSignatureStatus:
    """pyHanko's checks for signed-data enclosing its content (as its detached variant does)."""
    signer_info = extract_signer_info(signed_data)
    timing = await generic_cms.collect_timing_info(
        signer_info,
        ts_validation_context=checking.context(checking.now, past=False),
        raw_digest=lambda algorithm: _digest(content, algorithm),
    )
    kwargs = await generic_cms.cms_basic_validation(
        signed_data,
        raw_digest=None,
        validation_context=signer_context,
        status_kwargs=timing,
        key_usage_settings=StandardCMSSignatureStatus.default_usage_constraints(
            checking.key_usage
        ),
    )
    return StandardCMSSignatureStatus(**kwargs)


async def validate_cms(
    signed_data: cms.SignedData,
    content: bytes,
    kind: SignatureKind,
    checking: Checking,
    *,
    enclosed: bool = False,
) -> SignatureResult:
    """One CMS signature over `content`: detached, or (`enclosed`) the content it carries."""
    signer_info = extract_signer_info(signed_data)
    claimed = generic_cms.extract_self_reported_ts(signer_info)
    checking.depends_on(signed_data)
    when = validation_time(signer_info, claimed, checking.now, checking.settings)
    signer_context = checking.context(when.moment, past=when.past)
    if enclosed:
        status = await _enclosed_status(signed_data, content, signer_context, checking)
    else:
        status = await generic_cms.async_validate_detached_cms(
            content,
            signed_data,
            signer_validation_context=signer_context,
            ts_validation_context=checking.context(checking.now, past=False),
            key_usage_settings=checking.key_usage,
        )
    outcome, detail = await dated(
        cms_outcome(status, checking.settings), status.signing_cert, signed_data, checking,
        when.moment, status.validation_path,
    )
    timestamp = status.timestamp_validity
    return SignatureResult(
        kind=kind,
        status=outcome,
        detail=detail,
        signer=signer_of(status.signing_cert),
        signing_time=timestamp.timestamp if timestamp is not None else status.signer_reported_dt,
        timestamped=timestamp is not None and timestamp.trusted,
        coverage="entire_content",
        digest_algorithm=status.md_algorithm,
        validation_time=when.moment,
        time_source=when.source,
        notes=policy_notes(status, checking),
    )


def bind_sender(
    result: SignatureResult,
    signed_data: cms.SignedData,
    from_address: str | None,
    from_problem: str | None = None,
) -> SignatureResult:
    """S/MIME rule: the signer certificate's e-mail must be the one From address, else
    `untrusted` (several From fields or mailboxes give none: `from_problem` says so)."""
    if result.status != SignatureStatus.VALID:
        return result
    if not from_address:
        detail = "no single From address to bind the S/MIME signer to"
        detail += f" ({from_problem})" if from_problem else ""
        return replace(result, status=SignatureStatus.UNTRUSTED, detail=detail)
    cert = generic_cms.extract_certs_for_validation(signed_data).signer_cert
    if email_matches(cert, from_address):
        return result
    signer_email = result.signer.email if result.signer else None
    detail = f"signer e-mail {signer_email or '(none)'} does not match From {from_address}"
    return replace(result, status=SignatureStatus.UNTRUSTED, detail=detail)
