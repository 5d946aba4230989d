"""What the analysis found is reported as the analysis found it (issue 9, item 3): its
markings, degree and uninspectable list are the single source of the verdict JSON, the
held metadata, the notices and the policy's classification rule; none of them rebuilds
them from the documents (which listed each document's stamp a second time)."""

from __future__ import annotations

from dataclasses import replace
from email.message import EmailMessage
from pathlib import Path

from gateway.analysis.model import Analysis, Classification, Document, Headers, Marking
from gateway.cli.checking import CheckResult, check_message, result_json
from gateway.config import NoticeSettings, ServerSettings
from gateway.deciding.decider import InlineRunner, PolicyTransaction
from gateway.mail.envelope import Direction, Envelope
from gateway.policy.direction import Transaction
from gateway.policy.engine import evaluate_message
from gateway.policy.loader import load_policy
from gateway.quarantine.heldmeta import hold_request
from gateway.quarantine.notices import build_notices
from gateway.signatures.setup import CheckerCache
from tests.fixtures.documents import Attachment, encrypted_pdf, message, to_bytes

POLICIES = Path(__file__).resolve().parents[3] / "policies"
ENVELOPE = Envelope("van.a@thuathienhue.gov.vn", ("phong.b@thuathienhue.gov.vn",),
                    client_ip="10.0.0.5")
SETTINGS = NoticeSettings()
LOCKED = "MẬT ke-hoach.pdf"


def checked() -> CheckResult:
    """The default policy's decision on an encrypted PDF whose name bears a stamp, analysed
    as the gateway analyses it."""
    raw = to_bytes(message(subject="Gửi kế hoạch",
                           attachments=[Attachment(LOCKED, encrypted_pdf())]))
    checkers = CheckerCache()
    transaction = PolicyTransaction(load_policy(POLICIES), None, InlineRunner(checkers),
                                    checkers)
    return check_message(transaction, ENVELOPE, raw, ServerSettings())


def text_of(notice: EmailMessage) -> str:
    body = notice.get_body()
    assert body is not None
    return str(body.get_content())


def test_an_encrypted_stamped_pdf_is_reported_once_everywhere() -> None:
    result = checked()
    decision = result.message
    assert decision is not None and decision.analysis is not None
    assert decision.direction is Direction.INTERNAL
    verdict = result_json(result)
    assert (verdict["action"], verdict["direction"]) == ("quarantine", "internal")
    where = f"attachment '{LOCKED}' (2) filename"
    assert verdict["markings"] == [{"level": "mat", "stamp": "MẬT", "where": where}]
    assert [entry for entry in verdict["uninspectable"] if LOCKED in entry] == [
        f"2 '{LOCKED}': encrypted PDF (a password is needed to read it)"]
    assert [d["filename"] for d in verdict["documents"]].count(LOCKED) == 1

    held = hold_request(ENVELOPE, decision.verdict, decision.analysis,
                        direction=decision.direction).decision
    assert (held.direction, held.classification) == ("internal", "mat")
    assert [(m.level, m.stamp, m.where) for m in held.markings] == [("mat", "MẬT", where)]
    assert [d.filename for d in held.documents].count(LOCKED) == 1

    assert decision.security_officer == "baomat@thuathienhue.gov.vn"
    notices = build_notices("ID1", decision.analysis, decision.verdict, SETTINGS,
                            envelope=ENVELOPE, officer=decision.security_officer)
    assert len(notices) == 2
    for notice in notices:
        text = text_of(notice)
        assert text.count("dấu mức mật tìm thấy ở:") == 1
        assert text.count("confidential marking found in:") == 1
        assert text.count("mat ke-hoach.pdf: loại ke_hoach") == 1


def test_nothing_is_rebuilt_from_the_documents() -> None:
    """A document's stamp counts through the message's lists only: an analysis whose
    message-wide lists are empty is reported as unclassified, whatever its documents say."""
    stamp = Marking(Classification.TOI_MAT, "TỐI MẬT", "attachment 'a.pdf' (2) text")
    document = Document(path="2", filename="a.pdf", declared_type="application/pdf",
                        detected_type="application/pdf", size=10, sha256="0" * 64,
                        classification=Classification.TOI_MAT, markings=(stamp,),
                        uninspectable="encrypted PDF")
    whole = Analysis.of(10, Headers(subject="x"), (document,))
    assert (whole.classification, whole.markings) == (Classification.TOI_MAT, (stamp,))
    assert whole.uninspectable == ("2 'a.pdf': encrypted PDF",)
    bare = replace(whole, classification=None, markings=(), uninspectable=())

    policy = load_policy(POLICIES)
    transaction = Transaction(ENVELOPE, Direction.INTERNAL)
    fired = {hit.name for hit in evaluate_message(policy, transaction, whole).rules}
    assert "classified-never-relayed" in fired
    assert "uninspectable-official-documents" not in fired  # a.pdf is of no official type
    fired = {hit.name for hit in evaluate_message(policy, transaction, bare).rules}
    assert "classified-never-relayed" not in fired

    verdict = evaluate_message(policy, transaction, whole)
    held = hold_request(ENVELOPE, verdict, bare).decision
    assert (held.classification, held.markings) == (None, ())
    notices = build_notices("ID2", bare, verdict, SETTINGS, envelope=ENVELOPE,
                            officer=policy.settings.security_officer)
    assert len(notices) == 2  # the sender and the officer: the rule notifies both
    for notice in notices:
        assert "found in" not in text_of(notice)
        assert "highest degree" not in text_of(notice)
