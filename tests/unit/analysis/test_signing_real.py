"""Messages with real signatures (fixture PKI) through `analyse` and the real validator."""

from __future__ import annotations

import unicodedata
from pathlib import Path

import pytest

from gateway.signatures.checker import SignatureChecker
from gateway.signatures.model import SignatureStatus
from tests.fixtures.documents import Attachment, message, to_bytes
from tests.fixtures.pki import PERSON_EMAIL, Pki
from tests.fixtures.signed import (
    detached_cases,
    pgp_mime_message,
    pgp_signature,
    signed_pdf,
    smime_messages,
)
from tests.support.analysing import Analyser


def test_signed_pdf_and_detached_signature(
    analysed: Analyser, pki: Pki, checker: SignatureChecker
) -> None:
    content, signature = detached_cases(pki)["valid"]
    msg = message(attachments=[
        Attachment("Giấy mời ký số.pdf", signed_pdf(pki, "valid")),
        Attachment("tampered.pdf", signed_pdf(pki, "tampered")),
        Attachment("Báo cáo.pdf", content),
        Attachment("Báo cáo.pdf.p7s", signature, "application/pkcs7-signature"),
    ])
    documents = {d.filename: d for d in analysed(msg, signatures=checker).documents}
    assert documents["Giấy mời ký số.pdf"].signature.status == SignatureStatus.VALID
    assert documents["tampered.pdf"].signature.status == SignatureStatus.INVALID
    assert documents["Báo cáo.pdf"].signature.status == SignatureStatus.VALID
    assert "Báo cáo.pdf.p7s" not in documents


@pytest.mark.parametrize(
    ("case", "status"),
    [("valid", SignatureStatus.VALID), ("invalid", SignatureStatus.INVALID),
     ("untrusted", SignatureStatus.UNTRUSTED), ("opaque", SignatureStatus.VALID)],
)
def test_smime_messages(
    analysed: Analyser, pki: Pki, checker: SignatureChecker, case: str, status: SignatureStatus
) -> None:
    analysis = analysed(smime_messages(pki)[case], signatures=checker)
    assert analysis.message_signature is not None
    assert analysis.message_signature.status == status
    body = analysis.documents[0]
    assert (body.signature.status, body.signature.source) == (status, "smime")
    assert body.official_number is None or body.official_number.endswith("GM-UBND")


def test_pgp_mime_signature_is_unknown_not_invalid(
    analysed: Analyser, pki: Pki, checker: SignatureChecker, tmp_path: Path
) -> None:
    """PGP/MIME (RFC 3156) is a format the gateway does not check: `unknown`, and the
    document it carries inherits `unknown`, never `invalid`."""
    pdf = signed_pdf(pki, "unsigned")
    inner = message(attachments=[Attachment("Giấy mời.pdf", pdf)])
    body = to_bytes(inner).split(b"\r\n\r\n", 1)[1]
    signed_part = f"Content-Type: {inner['Content-Type']}\r\n\r\n".encode() + body
    raw = pgp_mime_message(PERSON_EMAIL, signed_part, pgp_signature(signed_part, tmp_path))
    analysis = analysed(raw, signatures=checker)
    assert analysis.message_signature is not None
    assert analysis.message_signature.status == SignatureStatus.UNKNOWN
    assert "PGP/MIME" in analysis.message_signature.detail
    assert "format not supported" in analysis.message_signature.detail
    (document,) = [d for d in analysis.documents if d.filename == "Giấy mời.pdf"]
    assert (document.signature.status, document.signature.source) == (
        SignatureStatus.UNKNOWN, "smime")
    assert all(d.signature.status != SignatureStatus.INVALID for d in analysis.documents)


PAIRINGS = [
    # (document name, signature name, other attachments): the pair is found
    ("Báo cáo.pdf", "Báo cáo.p7s", ["Phụ lục.pdf"]),
    ("Báo cáo.pdf", "Báo cáo.pdf.p7s", ["Phụ lục.pdf"]),
    ("Báo cáo.pdf", "BÁO CÁO.P7S", ["Phụ lục.pdf"]),
    ("Báo cáo.pdf", "Ba\u0301o ca\u0301o.sig", ["Phụ lục.pdf"]),  # NFD signature name
    ("Ba\u0301o ca\u0301o.PDF", "báo cáo.pdf.p7s", ["Phụ lục.pdf"]),  # NFD document name
    ("bao-cao-so-12.pdf", "chu-ky-so.p7s", []),  # one document, one signature: any names
]


@pytest.mark.parametrize(("document", "signature", "others"), PAIRINGS)
def test_detached_signature_pairs_by_stem_full_name_or_as_the_only_pair(
    analysed: Analyser, pki: Pki, checker: SignatureChecker, document: str, signature: str,
    others: list[str],
) -> None:
    content, p7s = detached_cases(pki)["valid"]
    attachments = [Attachment(document, content),
                   Attachment(signature, p7s, "application/pkcs7-signature"),
                   *(Attachment(name, signed_pdf(pki, "unsigned")) for name in others)]
    documents = analysed(message(attachments=attachments), signatures=checker).documents
    names = [d.filename for d in documents if d.filename]
    assert unicodedata.normalize("NFC", signature) not in names
    (signed,) = [d for d in documents if d.filename == unicodedata.normalize("NFC", document)]
    assert (signed.signature.status, signed.signature.source) == (SignatureStatus.VALID, "own")
    assert all(d.signature.status == SignatureStatus.MISSING for d in documents
               if d.filename in others)


def test_a_stem_shared_by_two_documents_pairs_neither(
    analysed: Analyser, pki: Pki, checker: SignatureChecker
) -> None:
    content, p7s = detached_cases(pki)["valid"]
    attachments = [Attachment("Báo cáo.pdf", content),
                   Attachment("Báo cáo.docx", b"PK not a docx", "application/octet-stream"),
                   Attachment("Báo cáo.p7s", p7s, "application/pkcs7-signature")]
    documents = analysed(message(attachments=attachments), signatures=checker).documents
    assert "Báo cáo.p7s" in [d.filename for d in documents]
    assert all(d.signature.status != SignatureStatus.INVALID for d in documents)
