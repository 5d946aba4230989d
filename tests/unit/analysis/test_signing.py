"""Which bytes go to which signature check, and what documents inherit.

`Recorder` implements the analysis port and records its calls, so these
tests pin the wiring (exact bytes as on the wire); test_signing_real.py runs
the same messages through the real validator.
"""

from __future__ import annotations

from gateway.analysis.model import Document
from gateway.signatures.model import (
    SignatureStatus,
    SignatureVerdict,
)
from tests.fixtures.documents import (
    Attachment,
    OfficialPaper,
    cms_signed_data,
    message,
    mime_entity,
    multipart_signed,
    official_pdf,
    opaque_signed,
    zip_of,
)
from tests.support.analysing import SIGNED_MARK, Analyser, Recorder

PDF = official_pdf()
SENDER = "van.a@thuathienhue.gov.vn"


def named(documents: tuple[Document, ...], filename: str) -> Document:
    return next(d for d in documents if d.filename == filename)


def test_every_pdf_is_checked_with_its_own_bytes(analysed: Analyser) -> None:
    signed = PDF + SIGNED_MARK
    archive = zip_of({"inner.pdf": signed})
    recorder = Recorder()
    msg = message(attachments=[Attachment("a.pdf", PDF), Attachment("b.zip", archive,
                                                                     "application/zip")])
    analysis = analysed(msg, signatures=recorder)
    assert [(kind, data) for kind, data, _ in recorder.calls] == [("pdf", PDF), ("pdf", signed)]
    assert named(analysis.documents, "a.pdf").signature.status == SignatureStatus.MISSING
    inner = named(analysis.documents, "inner.pdf")
    assert (inner.signature.status, inner.signature.source) == (SignatureStatus.VALID, "own")
    assert analysis.message_signature is None


def test_detached_signature_file_is_paired_and_not_a_document(analysed: Analyser) -> None:
    docx = b"PK-not-really-a-docx-but-some-content"
    msg = message(attachments=[
        Attachment("Giấy mời.pdf", PDF), Attachment("Giấy mời.pdf.p7s", b"sig:" + PDF[:20],
                                                    "application/pkcs7-signature"),
        Attachment("bao cao.docx", docx, "application/octet-stream"),
        Attachment("bao cao.docx.sig", b"wrong", "application/octet-stream"),
        Attachment("orphan.p7s", b"x", "application/pkcs7-signature"),
    ])
    recorder = Recorder()
    analysis = analysed(msg, signatures=recorder)
    names = [d.filename for d in analysis.documents]
    assert "Giấy mời.pdf.p7s" not in names and "bao cao.docx.sig" not in names
    assert "orphan.p7s" in names
    assert named(analysis.documents, "Giấy mời.pdf").signature.status == SignatureStatus.VALID
    assert named(analysis.documents, "bao cao.docx").signature.status == SignatureStatus.INVALID
    assert ("detached", docx, b"wrong") in recorder.calls


def test_multipart_signed_gets_the_first_part_as_on_the_wire(analysed: Analyser) -> None:
    entity = mime_entity("Kính gửi: Văn phòng\r\nGửi giấy mời.\r\n",
                         [Attachment("Giấy mời.pdf", PDF)])
    # odd but legal spacing and header case: a re-serialisation would change them
    entity = entity.replace(b"Content-Type: multipart/mixed;", b"Content-type:   multipart/mixed;")
    recorder = Recorder()
    analysis = analysed(multipart_signed(entity, b"\x30\x00", sender=SENDER), signatures=recorder)
    smime_calls = [call for call in recorder.calls if call[0] == "smime"]
    assert smime_calls == [("smime", entity, SENDER.encode())]
    document = named(analysis.documents, "Giấy mời.pdf")
    assert (document.signature.status, document.signature.source) == (
        SignatureStatus.VALID, "smime")
    assert document.doc_type == "giay_moi"
    assert analysis.message_signature is not None
    assert analysis.message_signature.status == SignatureStatus.VALID
    assert all(d.filename != "smime.p7s" for d in analysis.documents)


def test_own_signature_beats_inherited_and_invalid_smime_is_inherited(
    analysed: Analyser,
) -> None:
    entity = mime_entity("x", [Attachment("own.pdf", PDF + SIGNED_MARK),
                               Attachment("none.pdf", PDF)])
    analysis = analysed(multipart_signed(entity, b"\x30\x00", sender=SENDER),
                        signatures=Recorder(SignatureStatus.INVALID))
    own = named(analysis.documents, "own.pdf").signature
    inherited = named(analysis.documents, "none.pdf").signature
    assert (own.status, own.source) == (SignatureStatus.VALID, "own")
    assert (inherited.status, inherited.source) == (SignatureStatus.INVALID, "smime")


def test_opaque_signed_data_is_unwrapped_and_walked(analysed: Analyser) -> None:
    stamped = official_pdf(OfficialPaper(stamp="MẬT"))
    entity = mime_entity("Báo cáo kèm theo", [Attachment("bc.pdf", stamped)])
    pkcs7 = cms_signed_data(entity)
    recorder = Recorder()
    analysis = analysed(opaque_signed(pkcs7, sender=SENDER), signatures=recorder)
    assert recorder.calls[0] == ("opaque", pkcs7, SENDER.encode())
    document = named(analysis.documents, "bc.pdf")
    assert document.path.startswith("1/smime/")
    assert document.signature.source == "smime"
    assert analysis.classification is not None
    # without a checker the content is still unwrapped and classified
    unchecked = analysed(opaque_signed(pkcs7, sender=SENDER))
    assert unchecked.classification is not None
    assert named(unchecked.documents, "bc.pdf").signature == SignatureVerdict()


def test_no_checker_leaves_default_verdicts(analysed: Analyser) -> None:
    analysis = analysed(message(attachments=[Attachment("a.pdf", PDF + SIGNED_MARK)]))
    assert all(d.signature == SignatureVerdict() for d in analysis.documents)
    assert analysis.message_signature is None


def test_encrypted_smime_is_uninspectable(analysed: Analyser) -> None:
    head = (f"From: {SENDER}\nSubject: x\nContent-Type: application/pkcs7-mime; "
            "smime-type=enveloped-data; name=smime.p7m\nContent-Transfer-Encoding: base64")
    from tests.fixtures.documents import raw_message

    analysis = analysed(raw_message(head, b"MIIB\r\n"), signatures=Recorder())
    assert any("S/MIME encrypted" in reason for reason in analysis.uninspectable)


def test_unreadable_document_signature_is_unknown_not_missing(analysed: Analyser) -> None:
    from tests.fixtures.documents import encrypted_pdf, zip_bomb

    msg = message(attachments=[Attachment("giay-moi.pdf", encrypted_pdf()),
                               Attachment("b.zip", zip_bomb(), "application/zip")])
    analysis = analysed(msg, signatures=Recorder())
    encrypted, bomb = named(analysis.documents, "giay-moi.pdf"), named(analysis.documents,
                                                                      "bomb.pdf")
    assert encrypted.signature.status == SignatureStatus.UNKNOWN
    assert "could not be inspected" in encrypted.signature.detail
    assert bomb.signature.status == SignatureStatus.UNKNOWN
    unchecked = analysed(msg)
    assert named(unchecked.documents, "giay-moi.pdf").signature == SignatureVerdict()
