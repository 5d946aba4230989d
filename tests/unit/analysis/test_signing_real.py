"""Messages with real signatures (fixture PKI) through `analyse` and the real validator."""

from __future__ import annotations

import pytest

from gateway.signatures.checker import SignatureChecker
from gateway.signatures.model import SignatureStatus
from tests.fixtures.documents import Attachment, message
from tests.fixtures.pki import Pki
from tests.fixtures.signed import detached_cases, signed_pdf, smime_messages
from tests.unit.analysis.conftest import Analyser


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
