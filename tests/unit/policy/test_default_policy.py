"""The default policy (policies/) gives the directive's answer in each case (Directive 77/2014)."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest

from gateway.analysis.model import Address, Analysis, Classification
from gateway.auth.results import Authentication, DkimResult, DmarcResult, Result, SpfResult
from gateway.mail.envelope import Envelope
from gateway.policy.engine import (
    direction_of,
    evaluate_message,
    evaluate_recipient,
    evaluate_sender,
    evaluate_transaction,
)
from gateway.policy.loader import Policy, load_policy
from gateway.policy.verdict import Action, Mode, Verdict
from gateway.policy.wording import STATUS_VI
from gateway.signatures.model import SignatureStatus, Signer
from tests.support.builders import (
    INSIDE_IP,
    OUTSIDE_IP,
    POLICIES,
    address,
    analysis,
    copy_default,
    document,
    envelope,
)

OFFICIAL = "vanthu@sotttt.thuathienhue.gov.vn"
CITIZEN = "nguyen.van.a@gmail.com"
INVITATION = document("Giấy mời họp.pdf", "giay_moi")
SIGNED_INVITATION = document("Giấy mời họp.pdf", "giay_moi", SignatureStatus.VALID)
NUMBERED_INVITATION = document("Giấy mời họp.pdf", "giay_moi", SignatureStatus.VALID,
                               official_number="12/GM-UBND")
LETTER = document("anh.jpg", "other", detected_type="image/jpeg")


@pytest.fixture(scope="module")
def policy() -> Policy:
    return load_policy(POLICIES)


def mail(policy: Policy, env: Envelope, **kwargs: Any) -> Analysis:
    """An analysis whose direction is the one the gateway would compute."""
    return analysis(env, direction_of(policy, env), **kwargs)


def fired(verdict: Verdict) -> list[str]:
    return [hit.name for hit in verdict.rules if hit.mode is Mode.ENFORCE]


def decided_by(verdict: Verdict) -> str | None:
    return verdict.deciding_rule.name if verdict.deciding_rule else None


def test_the_default_policy_validates(policy: Policy) -> None:
    assert policy.settings.security_officer == "baomat@thuathienhue.gov.vn"
    designated = {t.id for t in policy.analysis_settings.document_types if t.designated}
    assert {"giay_moi", "bao_cao"} <= designated


def test_a_citizen_writing_from_gmail_to_an_official_passes(policy: Policy) -> None:
    env = envelope(CITIZEN, (OFFICIAL,), OUTSIDE_IP)
    verdict = evaluate_transaction(policy, *mail(policy, env, documents=(LETTER,)))
    assert verdict.action is Action.ACCEPT
    assert fired(verdict) == []
    assert dict(verdict.headers)["X-TTH-Policy"].startswith("action=accept; rules=none")


def test_an_official_answering_a_citizen_on_gmail_passes(policy: Policy) -> None:
    env = envelope(OFFICIAL, (CITIZEN,), INSIDE_IP)
    assert evaluate_transaction(policy, *mail(policy, env)).action is Action.ACCEPT


def test_a_bounce_from_outside_passes(policy: Policy) -> None:
    env = envelope("<>", (OFFICIAL,), OUTSIDE_IP)
    from_ = (address("mailer-daemon@mx.example.com", "Mail Delivery System"),)
    assert evaluate_transaction(policy, *mail(policy, env, from_=from_)).action is Action.ACCEPT


def test_freemail_sender_from_inside_is_refused_at_mail(policy: Policy) -> None:
    verdict = evaluate_sender(policy, envelope("canbo.tth@gmail.com", (), INSIDE_IP))
    assert verdict.action is Action.REJECT
    assert decided_by(verdict) == "inside-sender-not-official"
    hit = verdict.rules[0]
    assert "77/2014/CT-UBND" in hit.message_vi and "77/2014/CT-UBND" in hit.message_en
    assert "canbo.tth@gmail.com" in hit.message_en


def test_freemail_from_header_from_inside_is_refused_after_data(policy: Policy) -> None:
    env = envelope(OFFICIAL, ("b@hue.gov.vn",), INSIDE_IP)
    value = mail(policy, env, from_=(address("canbo.tth@yahoo.com"),))
    verdict = evaluate_transaction(policy, *value)
    assert verdict.action is Action.REJECT
    assert decided_by(verdict) == "inside-from-not-official"


def authenticated(spf: Result = Result.NONE, dkim: tuple[Result, bool] | None = None,
                  dmarc: Result = Result.NONE, disposition: str | None = None,
                  domain: str = "thuathienhue.gov.vn") -> Authentication:
    """Sender authentication as the auth stage reports it (aligned = with the From domain)."""
    signatures = () if dkim is None else (
        DkimResult(dkim[0], domain if dkim[1] else "mailer.example", "s1", "rsa-sha256",
                   aligned=dkim[1]),)
    return Authentication(domain, SpfResult(spf, domain, aligned=spf is Result.PASS),
                          signatures, DmarcResult(dmarc, domain, domain, disposition,
                                                  disposition))


def test_official_sender_claimed_from_outside_is_refused_after_data(policy: Policy) -> None:
    # Decided after DATA, where DKIM can be checked; no authentication at all: refused.
    assert evaluate_sender(policy, envelope(OFFICIAL, (), OUTSIDE_IP)).action is Action.ACCEPT
    value = mail(policy, envelope(OFFICIAL, (OFFICIAL,), OUTSIDE_IP))
    assert decided_by(evaluate_transaction(policy, *value)) == "official-sender-from-outside"
    forged = authenticated(Result.FAIL, (Result.PASS, False), Result.FAIL, "reject")
    verdict = evaluate_transaction(policy, *value, forged)
    assert verdict.action is Action.REJECT
    assert {"official-sender-from-outside", "dmarc-reject"} <= set(fired(verdict))
    env = envelope("bounce@mailer.example.com", (OFFICIAL,), OUTSIDE_IP)
    value = mail(policy, env, from_=(address("giamdoc@thuathienhue.gov.vn"),))
    assert decided_by(evaluate_transaction(policy, *value)) == "official-from-from-outside"


@pytest.mark.parametrize("auth", [
    authenticated(dkim=(Result.PASS, True), dmarc=Result.PASS),
    authenticated(spf=Result.PASS, dmarc=Result.PASS),
])
def test_authenticated_official_mail_from_outside_passes(policy: Policy,
                                                         auth: Authentication) -> None:
    env = envelope(OFFICIAL, (OFFICIAL,), OUTSIDE_IP)
    value = mail(policy, env, from_=(address(OFFICIAL),))
    verdict = evaluate_transaction(policy, *value, auth)
    assert verdict.action is Action.ACCEPT, fired(verdict)
    assert "auth=spf=" in dict(verdict.headers)["X-TTH-Policy"]


def test_official_claim_on_a_dns_failure_is_retried(policy: Policy) -> None:
    env = envelope(OFFICIAL, (OFFICIAL,), OUTSIDE_IP)
    value = mail(policy, env, from_=(address(OFFICIAL),))
    down = authenticated(Result.TEMPERROR, (Result.TEMPERROR, True), Result.TEMPERROR)
    verdict = evaluate_transaction(policy, *value, down)
    assert verdict.action is Action.TEMPFAIL
    assert set(fired(verdict)) == {"official-claim-unverifiable", "official-from-unverifiable"}


@pytest.mark.parametrize(("disposition", "action", "rule"), [
    ("reject", Action.REJECT, "dmarc-reject"),
    ("quarantine", Action.QUARANTINE, "dmarc-quarantine"),
    ("none", Action.ACCEPT, None),
])
def test_foreign_dmarc_policy_is_honoured(policy: Policy, disposition: str, action: Action,
                                          rule: str | None) -> None:
    env = envelope("a@bank.example", (OFFICIAL,), OUTSIDE_IP)
    value = mail(policy, env, from_=(address("a@bank.example"),))
    auth = authenticated(Result.FAIL, None, Result.FAIL, disposition, "bank.example")
    verdict = evaluate_transaction(policy, *value, auth)
    assert (verdict.action, decided_by(verdict)) == (action, rule)
    inside = mail(policy, envelope("a@bank.example", (OFFICIAL,), INSIDE_IP))
    assert "dmarc-reject" not in fired(evaluate_transaction(policy, *inside))


@pytest.mark.parametrize(
    "domain",
    [
        "thuathlenhue.gov.vn",
        "thuаthienhue.gov.vn",
        "thuathienhue.gov.vn.example.com",
        "thuathienhue-gov.vn",
        "xn--thuthienhue-0ij.gov.vn",
    ],
)
def test_lookalike_senders_are_refused_at_mail(policy: Policy, domain: str) -> None:
    verdict = evaluate_sender(policy, envelope(f"vanthu@{domain}", (), OUTSIDE_IP))
    assert decided_by(verdict) == "lookalike-sender"
    assert "thuathienhue.gov.vn" in verdict.rules[0].reason


def test_lookalike_from_and_recipient(policy: Policy) -> None:
    env = envelope("news@example.com", (OFFICIAL,), OUTSIDE_IP)
    value = mail(policy, env, from_=(address("vanthu@hue-gov.vn"),))
    assert decided_by(evaluate_transaction(policy, *value)) == "lookalike-from"
    out = envelope(OFFICIAL, ("sogd@thuathienhue.gov.vn.com", "b@hue.gov.vn"), INSIDE_IP)
    refused = evaluate_recipient(policy, out, "sogd@thuathienhue.gov.vn.com")
    assert decided_by(refused) == "lookalike-recipient"
    assert refused.rules[0].recipients == ("sogd@thuathienhue.gov.vn.com",)
    assert evaluate_recipient(policy, out, "b@hue.gov.vn").action is Action.ACCEPT


def test_display_name_spoofing_is_refused(policy: Policy) -> None:
    env = envelope("ubnd.tinh.tth@gmail.com", (OFFICIAL,), OUTSIDE_IP)
    spoof: tuple[Address, ...] = (address("ubnd.tinh.tth@gmail.com", "UBND tỉnh Thừa Thiên Huế"),)
    verdict = evaluate_transaction(policy, *mail(policy, env, from_=spoof))
    assert verdict.action is Action.REJECT
    assert decided_by(verdict) == "display-name-spoofing"
    spoof = (address("x@outlook.com", "vanthu@thuathienhue.gov.vn"),)
    assert decided_by(evaluate_transaction(policy, *mail(policy, env, from_=spoof))) == (
        "display-name-spoofing"
    )


@pytest.mark.parametrize("name", ["U\u0412ND tỉnh Thừ\u0430 Thiên Huế",  # Cyrillic В, а
                                  "ＵＢＮＤ tỉnh Thừa Thiên Huế",  # fullwidth
                                  "U\u200bBND tỉnh Thừa\u00ad Thiên Huế"])  # invisible
def test_display_name_spoofing_in_look_alike_letters_is_refused(policy: Policy,
                                                                name: str) -> None:
    env = envelope("bounce@example.com", (OFFICIAL,), OUTSIDE_IP)
    spoof = (address("ubnd.tinh.tth@gmail.com", name),)
    assert decided_by(evaluate_transaction(policy, *mail(policy, env, from_=spoof))) == (
        "display-name-spoofing"
    )


def test_several_from_fields_from_outside_get_a_warning(policy: Policy) -> None:
    env = envelope("x@example.com", (OFFICIAL,), OUTSIDE_IP)
    value = mail(policy, env, from_=(address("x@example.com"), address("y@example.org")))
    problems = dataclasses.replace(
        value.analysis.headers, problems=("from: several From header fields (2)",)
    )
    verdict = evaluate_transaction(policy, *value.with_headers(problems))
    assert verdict.action is Action.TAG
    assert decided_by(verdict) == "malformed-from-header"
    assert dict(verdict.headers)["X-TTH-Warning"].startswith("=?utf-8?")


def test_official_documents_to_freemail_are_refused_naming_recipients(policy: Policy) -> None:
    env = envelope(OFFICIAL, ("b@hue.gov.vn", "canbo@gmail.com"), INSIDE_IP)
    verdict = evaluate_transaction(policy, *mail(policy, env, documents=(NUMBERED_INVITATION,)))
    assert verdict.action is Action.REJECT
    assert decided_by(verdict) == "official-documents-to-freemail"
    hit = verdict.deciding_rule
    assert hit is not None and hit.recipients == ("canbo@gmail.com",)
    assert "canbo@gmail.com" in hit.message_vi and "b@hue.gov.vn" not in hit.message_en
    assert '"Giấy mời họp.pdf" (giay_moi)' in hit.message_en


def test_numbered_document_to_freemail_is_refused(policy: Policy) -> None:
    numbered = document("cv.pdf", "other", official_number="1234/UBND-VP")
    env = envelope(OFFICIAL, ("x@yahoo.com.vn",), INSIDE_IP)
    verdict = evaluate_transaction(policy, *mail(policy, env, documents=(numbered,)))
    assert decided_by(verdict) == "official-documents-to-freemail"


def test_partner_exception_is_an_edit_of_the_lists(tmp_path: Path) -> None:
    directory = copy_default(tmp_path)
    lists = directory / "lists.yaml"
    lists.write_text(
        lists.read_text().replace(
            "    addresses: []\n", "    addresses: [tuvan.duan@gmail.com]\n", 1
        )
    )
    edited = load_policy(directory)
    env = envelope(OFFICIAL, ("TuVan.DuAn@gmail.com",), INSIDE_IP)
    value = mail(edited, env, documents=(SIGNED_INVITATION,))
    assert evaluate_transaction(edited, *value).action is Action.ACCEPT


def test_official_documents_from_freemail_are_refused(policy: Policy) -> None:
    env = envelope(CITIZEN, (OFFICIAL,), OUTSIDE_IP)
    verdict = evaluate_transaction(policy, *mail(policy, env, documents=(NUMBERED_INVITATION,)))
    assert decided_by(verdict) == "official-documents-from-freemail"


def test_auto_forwarding_to_freemail_is_refused(policy: Policy) -> None:
    env = envelope(OFFICIAL, ("canhan@gmail.com",), INSIDE_IP)
    forwarded = mail(policy, env, forwarding=("auto-submitted: auto-forwarded",))
    verdict = evaluate_transaction(policy, *forwarded)
    assert decided_by(verdict) == "auto-forward-to-freemail"
    assert verdict.rules[-1].recipients == ("canhan@gmail.com",)


def test_classified_mail_is_quarantined_and_nothing_else_decides(policy: Policy) -> None:
    env = envelope(OFFICIAL, ("x@gmail.com",), INSIDE_IP)
    value = mail(policy, env, documents=(INVITATION,), classification=Classification.MAT)
    verdict = evaluate_message(policy, *value)
    assert verdict.action is Action.QUARANTINE
    assert fired(verdict) == ["classified-never-relayed"]
    assert verdict.rules[0].notify == (OFFICIAL, "baomat@thuathienhue.gov.vn")
    secret = document("bc.pdf", "bao_cao", classification=Classification.TUYET_MAT)
    inbound = mail(policy, envelope(CITIZEN, (OFFICIAL,), OUTSIDE_IP), documents=(secret,))
    assert evaluate_message(policy, *inbound).action is Action.QUARANTINE


def test_uninspectable_official_mail_is_held(policy: Policy) -> None:
    locked = document("Báo cáo tháng 10.pdf", "bao_cao", uninspectable="encrypted PDF")
    partner = envelope("vanthu@quangtri.gov.vn", (OFFICIAL,), OUTSIDE_IP)
    inbound = mail(policy, partner, documents=(locked,))
    assert decided_by(evaluate_message(policy, *inbound)) == "uninspectable-official-documents"
    archive = document("files.zip", "other", uninspectable="encrypted archive")
    outbound = mail(policy, envelope(OFFICIAL, ("b@example.com",)), documents=(archive,))
    assert decided_by(evaluate_message(policy, *outbound)) == "uninspectable-from-agencies"
    citizen = mail(policy, envelope(CITIZEN, (OFFICIAL,), OUTSIDE_IP), documents=(archive,))
    assert evaluate_message(policy, *citizen).action is Action.ACCEPT


@pytest.mark.parametrize(
    ("status", "problem"),
    [
        (SignatureStatus.MISSING, "missing"),
        (SignatureStatus.MODIFIED, "modified"),
        (SignatureStatus.UNTRUSTED, "untrusted"),
        (SignatureStatus.REVOKED, "revoked"),
    ],
)
def test_unsigned_designated_document_from_an_agency_is_refused(
    policy: Policy, status: SignatureStatus, problem: str
) -> None:
    doc = document("Giấy mời họp.pdf", "giay_moi", status)
    for rcpts in (("b@hue.gov.vn",), ("partner@example.com",)):
        value = mail(policy, envelope(OFFICIAL, rcpts, INSIDE_IP), documents=(doc,))
        verdict = evaluate_transaction(policy, *value)
        assert verdict.action is Action.REJECT
        assert decided_by(verdict) == "designated-documents-signed"
        hit = verdict.deciding_rule
        assert hit is not None
        assert f'"Giấy mời họp.pdf" (Giấy mời): {STATUS_VI[problem]}' in hit.message_vi
        assert f'"Giấy mời họp.pdf" (giay_moi): signature {problem}' in hit.message_en


def test_signed_designated_document_from_an_agency_passes_with_summary(policy: Policy) -> None:
    value = mail(policy, envelope(OFFICIAL, ("b@hue.gov.vn",)), documents=(SIGNED_INVITATION,))
    verdict = evaluate_transaction(policy, *value)
    assert verdict.action is Action.ACCEPT
    documents = [value for name, value in verdict.headers if name == "X-TTH-Documents"]
    assert len(documents) == 1
    assert documents[0].endswith(" giay_moi signature=valid")
    assert documents[0].startswith("=?utf-8?")


def test_unsigned_designated_document_from_outside_is_tagged(policy: Policy) -> None:
    env = envelope("vanthu@quangtri.gov.vn", (OFFICIAL,), OUTSIDE_IP)
    verdict = evaluate_transaction(policy, *mail(policy, env, documents=(INVITATION,)))
    assert verdict.action is Action.TAG
    assert decided_by(verdict) == "designated-documents-unsigned-inbound"
    assert "X-TTH-Signature-Warning" in dict(verdict.headers)


def test_signer_of_another_agency_is_only_monitored(policy: Policy) -> None:
    other = Signer(common_name="Trần B", organization="Sở Tài chính tỉnh Thừa Thiên Huế")
    doc = document("Giấy mời.pdf", "giay_moi", SignatureStatus.VALID, signer=other)
    value = mail(policy, envelope(OFFICIAL, ("b@hue.gov.vn",)), documents=(doc,))
    verdict = evaluate_transaction(policy, *value)
    assert verdict.action is Action.ACCEPT
    monitored = [hit.name for hit in verdict.rules if hit.mode is Mode.MONITOR]
    assert monitored == ["signer-not-sending-agency"]
    assert "monitor=signer-not-sending-agency" in dict(verdict.headers)["X-TTH-Policy"]
