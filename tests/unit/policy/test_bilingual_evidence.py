"""Every condition says what it found in Vietnamese and in English, and the Vietnamese
templates get the Vietnamese (issue 10, item 10): no English machine text inside a
Vietnamese sentence ("Thư mang dấu độ mật (classified mat (mat in subject))")."""

from __future__ import annotations

import dataclasses
import re

import pytest

from gateway.analysis.analyse import analyse
from gateway.analysis.model import Classification
from gateway.auth.results import Authentication, DkimResult, DmarcResult, Result, SpfResult
from gateway.mail.envelope import Direction, Envelope
from gateway.policy.conditions import default_registry
from gateway.policy.direction import Transaction
from gateway.policy.engine import evaluate_message, evaluate_transaction
from gateway.policy.loader import load_policy
from gateway.policy.verdict import RuleHit
from gateway.policy.wording import place_vi, uninspectable_vi
from gateway.signatures.model import SignatureStatus, Signer
from tests.fixtures.documents import Attachment, OfficialPaper, message, official_pdf, to_bytes
from tests.support.builders import (
    LISTS,
    OUTSIDE_IP,
    POLICIES,
    Case,
    address,
    analysis,
    document,
    envelope,
    policy_of,
)

#: The machine English the gateway writes in its English evidence; none of it may show in
#: the Vietnamese (values from the message, such as addresses and file names, are chosen
#: in the cases below so as not to contain these words).
ENGLISH = re.compile(
    r"\b(?:envelope|sender|recipients?|client|direction|inbound|outbound|internal|classified"
    r"|documents?|signature|signed|imitates|carries|name|not|in|outside|official|number"
    r"|uninspectable|encrypted|password|attachment|forwarding|markers|aligned|display"
    r"|names|over|message|size|bytes|subject|body|text|part|missing|invalid|valid"
    r"|modified|untrusted|expired|revoked|unknown|agency|evidence|filename|content"
    r"|giay_moi|bao_cao|cong_van|other|mat|toi_mat|tuyet_mat|designated|any|null"
    r"|unparsable|freemail_domains|official_domains|internal_networks|partners)\b",
    re.IGNORECASE,
)

LISTS_VI = (LISTS
            .replace("official_domains: {", "official_domains: {label_vi: tên miền công vụ, ")
            .replace("freemail_domains: {", "freemail_domains: {label_vi: hộp thư công cộng, ")
            .replace("partners: {", "partners: {label_vi: đối tác được phép, ")
            .replace("internal_networks: {", "internal_networks: {label_vi: mạng nội bộ, "))

AGENCY = "vanthu@sotttt.thuathienhue.gov.vn"
FINANCE = Signer(common_name="Trần Văn B", organization="Sở Tài chính tỉnh Thừa Thiên Huế")
LOCKED = "encrypted PDF (a password is needed to read it)"


def _with_fields(value: Case, fields: tuple[tuple[str, str], ...],
                 problems: tuple[str, ...] = ()) -> Case:
    headers = dataclasses.replace(value.analysis.headers, fields=fields, problems=problems)
    return value.with_analysis(dataclasses.replace(value.analysis, headers=headers))


#: One matching case per condition kind: (condition as YAML, the message it matches).
CASES: dict[str, tuple[str, Case]] = {
    "direction": ("{direction: outbound}", analysis()),
    "client_network": ("{client_network: {in: internal_networks}}", analysis()),
    "sender": ("{sender: {not_in: freemail_domains}}", analysis()),
    "recipients": ("{recipients: {in: freemail_domains}}",
                   analysis(envelope(rcpts=("dan@gmail.com",)))),
    "from": ("{from: {lookalike_of: official_domains}}",
             analysis(from_=(address("vanthu@thuathlenhue.gov.vn"),))),
    "reply_to": ("{reply_to: {namesake_of: official_domains}}",
                 analysis(reply_to=(address("toasoan@baothuathienhue.vn"),))),
    "alignment": ("{alignment: {aligned: false}}",
                  analysis(from_=(address("vanthu@hue.gov.vn"),))),
    "display_name": ("{display_name: {names_official: true}}",
                     analysis(from_=(address("dan@gmail.com", "UBND tỉnh Thừa Thiên Huế"),))),
    "auto_forwarded": ("{auto_forwarded: true}",
                       analysis(forwarding=("auto-submitted: auto-forwarded",))),
    "header": ("{header: {name: X-Mailer}}",
               _with_fields(analysis(), (("x-mailer", "Thunderbird 115"),))),
    "header_problems": ("{header_problems: {matches: '^from: '}}",
                       _with_fields(analysis(), (), ("from: several From fields",))),
    "size": ("{size: {over: 10}}", analysis()),
    "classification": ("{classification: {at_least: mat}}",
                       analysis(classification=Classification.MAT)),
    "uninspectable": ("{uninspectable: true}",
                      analysis(documents=(document("Giấy mời.pdf", uninspectable=LOCKED),))),
    "doc_type": ("{doc_type: {documents: official, evidence: content}}",
                 analysis(documents=(document("Giấy mời họp.pdf"),))),
    "official_number": ("{official_number: true}",
                        analysis(documents=(document("cv.pdf", "cong_van",
                                                     official_number="12/UBND-VP"),))),
    "attachment": ("{attachment: {name: '*.pdf'}}",
                   analysis(documents=(document("Giấy mời họp.pdf"),))),
    "signature": ("{signature: {documents: designated, status_not_in: [valid]}}",
                  analysis(documents=(document("Giấy mời họp.pdf"),))),
    "signer": ("{signer: {documents: designated, sender_agency: false}}",
               analysis(envelope(AGENCY), documents=(
                   document("Giấy mời họp.pdf", status=SignatureStatus.VALID, signer=FINANCE),))),
}


#: What the sender-authentication conditions (spf, dkim, dmarc) are probed with.
AUTHENTICATION = Authentication(
    "hue.gov.vn", SpfResult(Result.SOFTFAIL, "mailer.example"),
    (DkimResult(Result.FAIL, "hue.gov.vn", "s1", aligned=True),),
    DmarcResult(Result.FAIL, "hue.gov.vn", "hue.gov.vn", "reject", "reject"))
INBOUND = analysis(envelope("a@mailer.example", ("b@hue.gov.vn",), OUTSIDE_IP), Direction.INBOUND)
CASES |= {
    "spf": ("{spf: {result_in: [softfail]}}", INBOUND),
    "dkim": ("{dkim: {result_not_in: [pass], aligned: true}}", INBOUND),
    "dmarc": ("{dmarc: {result_in: [fail], policy_in: [reject]}}", INBOUND),
}


def probe(when: str, value: Case) -> RuleHit:
    rules = (f"rules:\n  - name: probe\n    when: {when}\n    action: quarantine\n"
             "    message_vi: 'Lý do: {reason}. Văn bản: {documents}'\n"
             "    message_en: 'Why: {reason}. Documents: {documents}'\n")
    hits = evaluate_message(policy_of(rules, LISTS_VI), *value, AUTHENTICATION).rules
    assert hits, when
    return hits[0]


def test_every_condition_kind_has_a_case() -> None:
    """A new condition kind (say spf, dkim) must add its case here, and word its evidence."""
    assert sorted(CASES) == default_registry().names()


@pytest.mark.parametrize("kind", sorted(CASES))
def test_each_condition_gives_evidence_in_both_languages(kind: str) -> None:
    when, value = CASES[kind]
    hit = probe(when, value)
    assert hit.reason and hit.reason_vi
    assert hit.reason_vi != hit.reason
    assert ENGLISH.search(hit.reason_vi) is None, hit.reason_vi
    assert hit.message_vi.startswith(f"Lý do: {hit.reason_vi}.")
    assert hit.message_en.startswith(f"Why: {hit.reason}.")
    assert ENGLISH.search(hit.message_vi) is None, hit.message_vi


def test_the_classified_notice_speaks_vietnamese_in_vietnamese() -> None:
    """The example of the issue, through the shipped policy."""
    policy = load_policy(POLICIES)
    env = envelope(AGENCY, ("b@hue.gov.vn",))
    hit = evaluate_message(policy, *analysis(env, Direction.INTERNAL,
                                            classification=Classification.MAT)).rules[0]
    assert hit.name == "classified-never-relayed"
    assert "Thư mang dấu độ mật (mức Mật: dấu «MẬT» ở tiêu đề thư)" in " ".join(
        hit.message_vi.split())
    assert "classified mat (MẬT in subject)" in hit.message_en


def test_real_places_and_reasons_are_worded_in_vietnamese() -> None:
    """Stamps and unreadable parts as the real analysis reports them."""
    policy = load_policy(POLICIES)
    stamped = official_pdf(OfficialPaper(stamp="MẬT"))
    locked = official_pdf(user_password="secret")
    raw = to_bytes(message(sender="dan@gmail.com", to=AGENCY, attachments=[
        Attachment("ke-hoach.pdf", stamped), Attachment("bao-cao.pdf", locked)]))
    value = analyse(raw, policy.analysis_settings, None)
    inbound = Transaction(Envelope("dan@gmail.com", (AGENCY,), client_ip=OUTSIDE_IP),
                          Direction.INBOUND)
    verdict = evaluate_transaction(policy, inbound, value)
    held = next(hit for hit in verdict.rules if hit.name == "classified-never-relayed")
    assert "nội dung tệp 'ke-hoach.pdf'" in held.reason_vi
    assert ENGLISH.search(held.reason_vi) is None, held.reason_vi
    for where in {m.where for d in value.documents for m in d.markings}:
        assert ENGLISH.search(place_vi(where)) is None, where
    reasons = [d.uninspectable for d in value.documents if d.uninspectable]
    assert len(reasons) == 1
    assert uninspectable_vi(reasons[0]) == "được mã hoá, cần mật khẩu"


@pytest.mark.parametrize(
    ("where", "said"),
    [
        ("subject", "tiêu đề thư"),
        ("header X-Do-Mat", "trường X-Do-Mat"),
        ("body (1) text", "nội dung thư"),
        ("attachment 'a.pdf' (2) text", "nội dung tệp 'a.pdf'"),
        ("attachment 'a.pdf' (2) filename", "tên tệp 'a.pdf'"),
        ("part 3 text", "phần 3 của thư"),
        ("2/rfc822/ subject", "tiêu đề thư của thư đính kèm"),
        ("somewhere new", "trong thư"),
    ],
)
def test_places(where: str, said: str) -> None:
    assert place_vi(where) == said


@pytest.mark.parametrize(
    ("reason", "said"),
    [
        ("encrypted PDF (a password is needed to read it)", "được mã hoá, cần mật khẩu"),
        ("text extraction ran out of time (10 s)", "phân tích quá thời gian cho phép"),
        ("zip bomb: compression ratio 300:1", "vượt giới hạn kiểm tra"),
        ("more than 500 parts: the rest was not inspected", "vượt giới hạn kiểm tra"),
        ("archive format not supported (application/x-rar)", "định dạng không được hỗ trợ"),
        ("PDF cannot be read (PdfReadError)", "không đọc được nội dung"),
    ],
)
def test_uninspectable_reasons(reason: str, said: str) -> None:
    assert uninspectable_vi(reason) == said
