"""Detached CMS signatures and S/MIME (multipart/signed, application/pkcs7-mime)."""

from __future__ import annotations

import email
import email.policy
from email.message import Message

import pytest
from asn1crypto import pem

from gateway.signatures.checker import SignatureChecker
from gateway.signatures.model import SignatureKind, SignatureStatus
from tests.fixtures.pki import PERSON_EMAIL, Pki
from tests.fixtures.signed import (
    MIME_ENTITY,
    SmimeOpaque,
    SmimeSigned,
    detached_signature,
    smime_message,
)

S = SignatureStatus
Smime = dict[str, SmimeSigned | SmimeOpaque]


@pytest.mark.parametrize(
    ("case", "status"),
    [("valid", S.VALID), ("invalid", S.INVALID), ("untrusted", S.UNTRUSTED),
     ("expired_claimed", S.EXPIRED)],
)
def test_detached(
    checker: SignatureChecker, detached: dict[str, tuple[bytes, bytes]], case: str, status: S
) -> None:
    content, signature = detached[case]
    verdict = checker.check_detached(content, signature)
    assert verdict.status == status, verdict
    (result,) = verdict.signatures
    assert result.kind == SignatureKind.DETACHED_CMS


def test_detached_pem_signature_is_accepted(
    checker: SignatureChecker, detached: dict[str, tuple[bytes, bytes]]
) -> None:
    content, signature = detached["valid"]
    armored = pem.armor("PKCS7", signature)
    assert checker.check_detached(content, armored).status == S.VALID


@pytest.mark.parametrize("signature", [b"", b"not a signature", b"\x30\x03\x02\x01\x01"])
def test_unparsable_detached_signature_is_invalid(
    checker: SignatureChecker, signature: bytes
) -> None:
    verdict = checker.check_detached(b"content", signature)
    assert verdict.status == S.INVALID
    assert verdict.signatures[0].detail.startswith("validation failed")


def test_detached_revoked_signer(checker: SignatureChecker, pki: Pki) -> None:
    signature = detached_signature(b"report", pki.revoked)
    assert checker.check_detached(b"report", signature).status == S.REVOKED


@pytest.mark.parametrize(
    ("case", "status"),
    [("valid", S.VALID), ("invalid", S.INVALID), ("untrusted", S.UNTRUSTED),
     ("from_mismatch", S.UNTRUSTED)],
)
def test_smime_signed(checker: SignatureChecker, smime: Smime, case: str, status: S) -> None:
    item = smime[case]
    assert isinstance(item, SmimeSigned)
    verdict = checker.check_smime_signed(item.signed_part, item.signature, item.from_address)
    assert verdict.status == status, verdict
    assert verdict.signatures[0].kind == SignatureKind.SMIME


def test_from_mismatch_names_both_addresses(checker: SignatureChecker, smime: Smime) -> None:
    item = smime["from_mismatch"]
    assert isinstance(item, SmimeSigned)
    verdict = checker.check_smime_signed(item.signed_part, item.signature, item.from_address)
    assert PERSON_EMAIL in verdict.signatures[0].detail
    assert item.from_address in verdict.signatures[0].detail


@pytest.mark.parametrize(
    ("from_address", "status"),
    [
        (f"Nguyễn Văn An <{PERSON_EMAIL.upper()}>", S.VALID),
        ("nvan@stc.thuathienhue.gov.vn", S.UNTRUSTED),
        ("khac@sotttt.thuathienhue.gov.vn", S.UNTRUSTED),
    ],
)
def test_from_comparison(
    checker: SignatureChecker, smime: Smime, from_address: str, status: S
) -> None:
    item = smime["valid"]
    assert isinstance(item, SmimeSigned)
    verdict = checker.check_smime_signed(item.signed_part, item.signature, from_address)
    assert verdict.status == status


def test_smime_without_from_is_untrusted(checker: SignatureChecker, smime: Smime) -> None:
    item = smime["valid"]
    assert isinstance(item, SmimeSigned)
    assert checker.check_smime_signed(item.signed_part, item.signature, None).status == S.UNTRUSTED


def test_smime_signed_part_with_bare_lf_is_canonicalised(
    checker: SignatureChecker, smime: Smime
) -> None:
    item = smime["valid"]
    assert isinstance(item, SmimeSigned)
    lf = item.signed_part.replace(b"\r\n", b"\n")
    assert checker.check_smime_signed(lf, item.signature, item.from_address).status == S.VALID


@pytest.mark.parametrize(
    ("case", "status"), [("opaque", S.VALID), ("opaque_untrusted", S.UNTRUSTED)]
)
def test_smime_opaque(checker: SignatureChecker, smime: Smime, case: str, status: S) -> None:
    item = smime[case]
    assert isinstance(item, SmimeOpaque)
    verdict, content = checker.check_smime_opaque(item.pkcs7, item.from_address)
    assert verdict.status == status, verdict
    assert content == MIME_ENTITY


def test_opaque_with_detached_signature_is_invalid(checker: SignatureChecker, smime: Smime) -> None:
    item = smime["valid"]
    assert isinstance(item, SmimeSigned)
    verdict, content = checker.check_smime_opaque(item.signature, item.from_address)
    assert verdict.status == S.INVALID and content is None


def _parts(message: Message) -> list[Message]:
    payload = message.get_payload()
    assert isinstance(payload, list)
    return [part for part in payload if isinstance(part, Message)]


def test_smime_messages_are_well_formed(smime: Smime) -> None:
    signed = email.message_from_bytes(smime_message(smime["valid"]), policy=email.policy.SMTP)
    assert signed.get_content_type() == "multipart/signed"
    entity, signature = _parts(signed)
    assert entity.get_content_type() == "text/plain"
    assert signature.get_content_type() == "application/pkcs7-signature"
    item = smime["valid"]
    assert isinstance(item, SmimeSigned)
    assert signature.get_payload(decode=True) == item.signature
    opaque = email.message_from_bytes(smime_message(smime["opaque"]), policy=email.policy.SMTP)
    assert opaque.get_content_type() == "application/pkcs7-mime"
    assert opaque.get_param("smime-type") == "signed-data"


def test_opaque_content_is_returned_from_the_cache_too(
    checker: SignatureChecker, smime: Smime
) -> None:
    item = smime["opaque"]
    assert isinstance(item, SmimeOpaque)
    first = checker.check_smime_opaque(item.pkcs7, item.from_address)
    second = checker.check_smime_opaque(item.pkcs7, item.from_address)
    assert second[0] is first[0]
    assert second[1] == first[1] == MIME_ENTITY
