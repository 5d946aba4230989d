"""Sample decisions about a classified message, as the analysis and the policy give them."""

from __future__ import annotations

import argparse

from gateway.analysis.model import Analysis, Classification, Document, Headers, Marking
from gateway.cli.quarantine import add_quarantine_parser
from gateway.mail.envelope import Envelope
from gateway.policy.verdict import Action, RuleHit, Verdict
from gateway.signatures.model import SignatureStatus, SignatureVerdict

#: A phrase that is only in the classified text itself: no record or notice may contain it.
SECRET_TEXT = "Phuong an bo tri luc luong bien gioi so 7731"

MESSAGE = (
    b"From: Tran Van B <b@thuathienhue.gov.vn>\r\n"
    b"To: c@thuathienhue.gov.vn, d@hue.gov.vn\r\n"
    b"Subject: =?utf-8?b?W1Thu5BJIE3huqxUXSBL4bq/IGhv4bqhY2g=?=\r\n"
    b"Message-ID: <k7@thuathienhue.gov.vn>\r\n"
    b"\r\n"
    b"T\xe1\xbb\x90I M\xe1\xba\xacT\r\n"
    + SECRET_TEXT.encode()
    + b"\r\n.leading dot line\r\n"
)

ENVELOPE = Envelope(
    mail_from="b@thuathienhue.gov.vn",
    rcpt_tos=("c@thuathienhue.gov.vn", "d@hue.gov.vn"),
    client_ip="10.20.30.40",
    client_name="pc-b.thuathienhue.gov.vn",
    helo="pc-b",
)

RULE = RuleHit(
    name="classified-never-by-mail",
    action=Action.QUARANTINE,
    reason="classification toi_mat found",
    message_vi="Tài liệu có độ mật không được gửi qua thư điện tử",
    message_en="Classified documents must not be sent by e-mail",
)


def classified_analysis(auto_submitted: str | None = None) -> Analysis:
    """A stamp in the subject and one in the attached plan, as the analysis reports them
    (the message's markings list both)."""
    subject_mark = Marking(Classification.TOI_MAT, "TỐI MẬT", "subject", evidence=SECRET_TEXT)
    page_mark = Marking(Classification.TOI_MAT, "TỐI MẬT", "ke-hoach.pdf page 1",
                        evidence=SECRET_TEXT)
    document = Document(
        path="2",
        filename="ke-hoach.pdf",
        declared_type="application/pdf",
        detected_type="application/pdf",
        size=1234,
        sha256="ab" * 32,
        doc_type="ke_hoach",
        classification=Classification.TOI_MAT,
        markings=(page_mark,),
        signature=SignatureVerdict(status=SignatureStatus.VALID),
    )
    headers = Headers(subject="[TỐI MẬT] Kế hoạch", message_id="<k7@thuathienhue.gov.vn>",
                      auto_submitted=auto_submitted)
    return Analysis.of(len(MESSAGE), headers, (document,), message_markings=(subject_mark,))


def quarantine_verdict(*notify: str) -> Verdict:
    rule = RuleHit(RULE.name, RULE.action, reason=RULE.reason, message_vi=RULE.message_vi,
                   message_en=RULE.message_en, notify=notify)
    return Verdict(action=Action.QUARANTINE, rules=(rule,), deciding_rule=rule)


def quarantine_cli(*argv: str) -> int:
    """`tth-gateway quarantine ARGV...` in this process; its exit status."""
    parser = argparse.ArgumentParser(prog="tth-gateway")
    add_quarantine_parser(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["quarantine", *argv])
    code: int = args.handler(args)
    return code
