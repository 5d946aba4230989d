"""Weak evidence never refuses: only what a document shows in its own text (an official
number) or an agency's signature makes it official enough to refuse (issue 10, item 7).

Real messages, analysed by the real analysis, judged by the shipped policy.
"""

from __future__ import annotations

import pytest

from gateway.analysis.analyse import analyse
from gateway.analysis.model import Document
from gateway.mail.envelope import Direction, Envelope
from gateway.policy.direction import Transaction
from gateway.policy.engine import evaluate_transaction
from gateway.policy.loader import Policy, load_policy
from gateway.policy.verdict import Action, Mode
from gateway.signatures.model import SignatureStatus, Signer
from tests.fixtures.documents import (
    Attachment,
    OfficialPaper,
    message,
    official_pdf,
    scanned_pdf,
    to_bytes,
)
from tests.support.builders import (
    INSIDE_IP,
    OUTSIDE_IP,
    POLICIES,
    Case,
    analysis,
    document,
    envelope,
)

CITIZEN = "nguyen.van.a@gmail.com"
OFFICIAL = "vanthu@sotttt.thuathienhue.gov.vn"
NUMBERED = OfficialPaper(number="12/BC-UBND", title="BÁO CÁO")
TITLE_ONLY = OfficialPaper(number=None, title="BÁO CÁO")
NUMBER_ONLY = OfficialPaper(number="1234/UBND-VP", title=None)
LETTER = OfficialPaper(number=None, title="ĐƠN KIẾN NGHỊ", issuer=("Nguyễn Văn A",))


@pytest.fixture(scope="module")
def policy() -> Policy:
    return load_policy(POLICIES)


def from_citizen(policy: Policy, subject: str, filename: str, data: bytes) -> Case:
    settings = policy.analysis_settings
    raw = to_bytes(message(subject=subject, sender=CITIZEN, to=OFFICIAL,
                           attachments=[Attachment(filename, data)]))
    env = Envelope(CITIZEN, (OFFICIAL,), client_ip=OUTSIDE_IP)
    return Case(Transaction(env, Direction.INBOUND), analyse(raw, settings, None))


@pytest.mark.parametrize(
    ("subject", "filename", "data", "source", "action", "deciding"),
    [
        # name only: the type read from the file name or the subject tags, never refuses
        ("Gửi anh chị", "baocao.pdf", scanned_pdf(), "filename", Action.TAG,
         "official-documents-from-freemail-by-name"),
        ("Báo cáo tình hình", "scan0001.pdf", scanned_pdf(), "subject", Action.TAG,
         "official-documents-from-freemail-by-name"),
        # a printed title without a number is content, but not an official document yet
        ("Gửi anh chị", "tailieu.pdf", official_pdf(TITLE_ONLY), "title", Action.TAG,
         "official-documents-from-freemail-by-name"),
        # an official number printed in the document: refused
        ("Gửi anh chị", "tailieu.pdf", official_pdf(NUMBERED), "title", Action.REJECT,
         "official-documents-from-freemail"),
        ("Gửi anh chị", "cv.pdf", official_pdf(NUMBER_ONLY), "number", Action.REJECT,
         "official-documents-from-freemail"),
        # unreadable, official only by its name: delivered with a warning, not held
        ("Gửi anh chị", "baocao.pdf", b"%PDF-1.4\n not really a PDF\n", "filename", Action.TAG,
         "official-documents-from-freemail-by-name"),
        ("Gửi anh chị", "baocao.pdf", official_pdf(NUMBERED, user_password="x"), "filename",
         Action.TAG, "official-documents-from-freemail-by-name"),
        # a citizen's own letter is no official document at all
        ("Đơn kiến nghị", "don.pdf", official_pdf(LETTER), "", Action.ACCEPT, None),
    ],
)
def test_only_content_evidence_refuses_a_citizen(
    policy: Policy, subject: str, filename: str, data: bytes, source: str, action: Action,
    deciding: str | None,
) -> None:
    analysed = from_citizen(policy, subject, filename, data)
    attached = analysed.analysis.documents[1]
    assert attached.doc_type_source == source
    verdict = evaluate_transaction(policy, *analysed)
    assert verdict.action is action
    assert (verdict.deciding_rule.name if verdict.deciding_rule else None) == deciding


def test_an_unreadable_official_document_from_an_agency_network_is_still_held(
    policy: Policy,
) -> None:
    doc = document("baocao.pdf", "bao_cao", source="filename", uninspectable="encrypted PDF")
    partner = envelope("vanthu@soyte.quangtri.gov.vn", (OFFICIAL,), OUTSIDE_IP)
    verdict = evaluate_transaction(policy, *analysis(partner, Direction.INBOUND, documents=(doc,)))
    assert verdict.action is Action.QUARANTINE


def test_a_refusal_names_its_content_evidence(policy: Policy) -> None:
    analysed = from_citizen(policy, "Báo cáo", "baocao.pdf", official_pdf(NUMBERED))
    verdict = evaluate_transaction(policy, *analysed)
    assert verdict.deciding_rule is not None
    assert "number evidence" in verdict.deciding_rule.reason


AGENCY = Signer(common_name="Sở Thông tin và Truyền thông tỉnh Thừa Thiên Huế",
                organization="Sở Thông tin và Truyền thông tỉnh Thừa Thiên Huế")
PERSON = Signer(common_name="Nguyễn Văn A", organization=None)


@pytest.mark.parametrize(
    ("doc", "refused"),
    [
        (document("baocao.pdf", "bao_cao", SignatureStatus.VALID, source="filename"), False),
        (document("x.pdf", "bao_cao", SignatureStatus.VALID, source="subject"), False),
        (document("x.pdf", "bao_cao", SignatureStatus.VALID, source="title"), False),
        (document("x.pdf", "bao_cao", SignatureStatus.VALID, source="summary_line"), False),
        (document("x.pdf", "bao_cao", SignatureStatus.VALID, official_number="12/BC-UBND",
                  source="number"), True),
        # an agency's valid signature is evidence as strong as the number
        (document("baocao.pdf", "bao_cao", SignatureStatus.VALID, source="filename",
                  signer=AGENCY), True),
        # a person's signature, or an agency's broken one, is not
        (document("baocao.pdf", "bao_cao", SignatureStatus.VALID, source="filename",
                  signer=PERSON), False),
        (document("baocao.pdf", "bao_cao", SignatureStatus.INVALID, source="filename",
                  signer=AGENCY), False),
    ],
)
def test_evidence_strength_table_both_ways(policy: Policy, doc: Document, refused: bool) -> None:
    """The freemail refusals need number evidence; the by-name warnings take any evidence."""
    inbound = envelope(CITIZEN, (OFFICIAL,), OUTSIDE_IP)
    outbound = envelope(OFFICIAL, ("canhan@gmail.com",), INSIDE_IP)
    for env, way, rule in ((inbound, Direction.INBOUND, "official-documents-from-freemail"),
                           (outbound, Direction.OUTBOUND, "official-documents-to-freemail")):
        verdict = evaluate_transaction(policy, *analysis(env, way, documents=(doc,)))
        fired = [hit.name for hit in verdict.rules if hit.mode is Mode.ENFORCE]
        assert (rule in fired) is refused, (way, fired)
        assert (f"{rule}-by-name" in fired) is not refused
        if not refused and way is Direction.INBOUND:
            assert verdict.action is Action.TAG
