"""Document, classification, size and signature conditions (pure, one probe rule)."""

from __future__ import annotations

import pytest

from gateway.analysis.model import Classification
from gateway.mail.envelope import Direction
from gateway.policy.loader import PolicyError
from gateway.signatures.model import SignatureStatus, Signer
from tests.support.builders import (
    address,
    analysis,
    document,
    envelope,
    one_rule,
    reason,
)

VALID = SignatureStatus.VALID
INVITATION = document("Giấy mời họp.pdf", "giay_moi")
LETTER = document("thu.pdf", "other")
NUMBERED = document("cv.pdf", "cong_van", official_number="123/UBND-VP")


def test_doc_type_by_ids_and_designated() -> None:
    listed = one_rule("{doc_type: [bao_cao, giay_moi]}")
    assert reason(listed, analysis(documents=(LETTER, INVITATION))) == (
        'bao_cao, giay_moi document: "Giấy mời họp.pdf" (giay_moi)'
    )
    designated = one_rule("{doc_type: designated}")
    assert reason(designated, analysis(documents=(INVITATION,))) is not None
    assert reason(designated, analysis(documents=(LETTER, NUMBERED))) is None


def test_doc_type_official_includes_numbered_documents() -> None:
    official = one_rule("{doc_type: official}")
    assert reason(official, analysis(documents=(NUMBERED,))) == (
        'official document: "cv.pdf" (cong_van)'
    )
    assert reason(official, analysis(documents=(LETTER,))) is None


def test_doc_type_words_cannot_be_mixed_with_ids() -> None:
    with pytest.raises(PolicyError) as caught:
        one_rule("{doc_type: [designated, giay_moi]}")
    assert "'designated' cannot be combined with document type ids" in caught.value.errors[0]


def test_official_number() -> None:
    assert reason(one_rule("{official_number: true}"), analysis(documents=(NUMBERED,))) == (
        'official number: "cv.pdf" (cong_van) Số: 123/UBND-VP'
    )
    assert reason(one_rule("{official_number: true}"), analysis(documents=(LETTER,))) is None
    assert reason(one_rule("{official_number: false}"), analysis(documents=(LETTER,))) is not None


def test_attachment_glob_regex_and_detected_type() -> None:
    exe = document("Báo cáo.PDF.exe", "other", detected_type="application/x-msdownload")
    glob = one_rule("{attachment: {name: ['*.exe', '*.scr']}}")
    assert reason(glob, analysis(documents=(exe,))) == 'attachment: "Báo cáo.PDF.exe" (other)'
    assert reason(glob, analysis(documents=(INVITATION,))) is None
    regex = one_rule(r"{attachment: {name_matches: '\.pdf\.exe$'}}")
    assert reason(regex, analysis(documents=(exe,))) is not None
    typed = one_rule("{attachment: {detected_type: application/x-msdownload}}")
    assert reason(typed, analysis(documents=(exe, INVITATION))) is not None
    both = one_rule("{attachment: {name: '*.pdf', detected_type: application/x-msdownload}}")
    assert reason(both, analysis(documents=(exe, INVITATION))) is None
    designated_pdf = one_rule(
        "{attachment: {detected_type: application/pdf, doc_type: designated}}"
    )
    assert reason(designated_pdf, analysis(documents=(LETTER,))) is None
    assert reason(designated_pdf, analysis(documents=(INVITATION,))) is not None


def test_classification_at_least() -> None:
    mat = one_rule("{classification: {at_least: mat}}")
    toi_mat = one_rule("{classification: {at_least: toi_mat}}")
    subject_mat = analysis(classification=Classification.MAT)
    assert reason(mat, subject_mat) == "classified mat (MẬT in subject)"
    assert reason(toi_mat, subject_mat) is None
    secret = document("bc.pdf", "bao_cao", classification=Classification.TUYET_MAT)
    found = reason(toi_mat, analysis(documents=(secret,)))
    assert found == "classified tuyet_mat (TUYET_MAT in document)"
    assert reason(mat, analysis(documents=(INVITATION,))) is None


def test_uninspectable() -> None:
    locked = document("bc.pdf", "bao_cao", uninspectable="encrypted PDF")
    assert reason(one_rule("{uninspectable: true}"), analysis(documents=(locked,))) == (
        'uninspectable: "bc.pdf" (bao_cao): encrypted PDF'
    )
    assert reason(one_rule("{uninspectable: true}"), analysis(documents=(INVITATION,))) is None


def test_size() -> None:
    policy = one_rule("{size: {over: 1000, under: 5000}}")
    assert reason(policy, analysis(size=2000)) == "message size 2000 bytes"
    assert reason(policy, analysis(size=1000)) is None
    assert reason(policy, analysis(size=5000)) is None
    with pytest.raises(PolicyError):
        one_rule("{size: {over: -1}}")


def test_signature_status_per_document_type() -> None:
    policy = one_rule("{signature: {documents: designated, status_not_in: [valid]}}")
    unsigned = document("Giấy mời.pdf", "giay_moi")
    signed = document("Báo cáo.pdf", "bao_cao", VALID)
    found = reason(policy, analysis(documents=(unsigned, signed, LETTER)))
    assert found == '"Giấy mời.pdf" (giay_moi): signature missing'
    assert reason(policy, analysis(documents=(signed, LETTER))) is None
    revoked = document("Báo cáo.pdf", "bao_cao", SignatureStatus.REVOKED)
    listed = one_rule("{signature: {documents: [bao_cao], status_in: [revoked, expired]}}")
    assert reason(listed, analysis(documents=(revoked, unsigned))) == (
        '"Báo cáo.pdf" (bao_cao): signature revoked'
    )


def test_signature_needs_exactly_one_status_test() -> None:
    with pytest.raises(PolicyError) as caught:
        one_rule("{signature: {status_in: [valid], status_not_in: [missing]}}")
    assert "exactly one of status_in, status_not_in" in caught.value.errors[0]
    with pytest.raises(PolicyError):
        one_rule("{signature: {status_in: [fine]}}")


def test_signer_of_another_agency() -> None:
    policy = one_rule("{signer: {documents: designated, sender_agency: false}}")
    env = envelope("vanthu@sotttt.thuathienhue.gov.vn")
    own = Signer(common_name="Nguyễn Văn A", organization="Sở Thông tin và Truyền thông")
    other = Signer(common_name="Trần B", organization="Sở Tài chính")
    by_own = document("Giấy mời.pdf", "giay_moi", VALID, signer=own)
    by_other = document("Giấy mời.pdf", "giay_moi", VALID, signer=other)
    assert reason(policy, analysis(env, documents=(by_own,))) is None
    found = reason(policy, analysis(env, documents=(by_other,)))
    assert found == (
        '"Giấy mời.pdf" (giay_moi) signed by Trần B / Sở Tài chính: '
        "not the sending agency sotttt.thuathienhue.gov.vn"
    )
    by_mail = Signer(common_name="C", email="c@sotttt.thuathienhue.gov.vn")
    signed_by_mail = document("Giấy mời.pdf", "giay_moi", VALID, signer=by_mail)
    assert reason(policy, analysis(env, documents=(signed_by_mail,))) is None
    unmapped = analysis(
        envelope("a@hue.gov.vn"),
        Direction.OUTBOUND,
        documents=(by_other,),
        from_=(address("a@hue.gov.vn"),),
    )
    assert reason(policy, unmapped) is None


def test_signer_agency_with_several_from_mailboxes_is_the_envelope_senders() -> None:
    policy = one_rule("{signer: {documents: designated, sender_agency: false}}")
    env = envelope("vanthu@sotttt.thuathienhue.gov.vn")
    other = Signer(common_name="Trần B", email="b@stc.thuathienhue.gov.vn")
    signed = document("Giấy mời.pdf", "giay_moi", VALID, signer=other)
    claimed = (address("b@stc.thuathienhue.gov.vn"), address("c@sotttt.thuathienhue.gov.vn"))
    found = reason(policy, analysis(env, documents=(signed,), from_=claimed))
    assert found is not None and "not the sending agency sotttt.thuathienhue.gov.vn" in found
