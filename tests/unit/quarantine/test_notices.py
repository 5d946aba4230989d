"""Notices about held mail: bilingual, who gets one, what they say, and what they never say."""

from __future__ import annotations

import asyncio
import unicodedata
from dataclasses import replace
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.analysis.defusing import defuse
from gateway.analysis.markings import compile_rules, scan_text
from gateway.analysis.model import Analysis
from gateway.analysis.settings import ClassificationSpec
from gateway.config import NoticeSettings
from gateway.outbound.maildir import MaildirUpstream
from gateway.policy.verdict import Verdict
from gateway.quarantine.interface import QueuedNotice
from gateway.quarantine.notices import build_notices, outgoing
from gateway.quarantine.outbox import send_notice
from tests.support.samples import (
    ENVELOPE,
    SECRET_TEXT,
    classified_analysis,
    quarantine_verdict,
)

HELD_ID = "20261125T090035Z-0123456789abcdef0123"
OFFICER = "baomat@thuathienhue.gov.vn"
SETTINGS = NoticeSettings()
#: A hold by a rule with `notify: [sender, security_officer]`, as the default policy's are.
HELD = quarantine_verdict("sender", "security_officer")


NOW = datetime(2026, 12, 4, tzinfo=UTC)


def notices_for(analysis: Analysis | None, verdict: Verdict,
                officer: str | None = OFFICER) -> list[EmailMessage]:
    """The notices about the message held as HELD_ID with the sample envelope, `officer`
    being the policy's security officer (the decision carries it)."""
    return build_notices(HELD_ID, analysis, verdict, SETTINGS, envelope=ENVELOPE,
                         officer=officer)


def by_recipient(notices: list[EmailMessage]) -> dict[str, EmailMessage]:
    return {str(notice["To"]): notice for notice in notices}


def text_of(notice: EmailMessage) -> str:
    body = notice.get_body()
    assert body is not None
    return str(body.get_content())


def test_sender_and_officer_each_get_one_notice() -> None:
    notices = by_recipient(
        notices_for(classified_analysis(), HELD)
    )
    assert set(notices) == {"b@thuathienhue.gov.vn", OFFICER}
    for notice in notices.values():
        assert notice["Auto-Submitted"] == "auto-generated"
        assert notice["X-TTH-Notice"] == HELD_ID
        assert "postmaster@thuathienhue.gov.vn" in str(notice["From"])
        assert HELD_ID in str(notice["Subject"])
        assert notice["Message-ID"].endswith("@thuathienhue.gov.vn>")


def test_notice_says_what_and_why_in_both_languages() -> None:
    notices = by_recipient(
        notices_for(classified_analysis(), HELD)
    )
    text = text_of(notices["b@thuathienhue.gov.vn"])
    for expected in (
        HELD_ID,
        "classified-never-by-mail",
        "Tài liệu có độ mật không được gửi qua thư điện tử",
        "Classified documents must not be sent by e-mail",
        "mức cao nhất là tối mật",
        "highest degree: secret (toi_mat)",
        "tìm thấy ở: tiêu đề thư",
        "marking found in: ke-hoach.pdf page 1",
        "ke-hoach.pdf: loại ke_hoach",
        "c@thuathienhue.gov.vn, d@hue.gov.vn",
        "kênh bảo mật",
        "confidential channel",
    ):
        assert expected in text
    assert "10.20.30.40" not in text
    officer = text_of(notices[OFFICER])
    assert "10.20.30.40" in officer
    assert f"tth-gateway quarantine show|release|delete {HELD_ID}" in officer


def test_notice_never_carries_the_content() -> None:
    for notice in notices_for(classified_analysis(), HELD):
        raw = notice.as_string()
        assert SECRET_TEXT not in text_of(notice)
        assert SECRET_TEXT not in raw
        assert "Kế hoạch" not in text_of(notice)  # the original subject is content
        assert not notice.is_multipart()


def test_notice_text_bears_no_stamp_the_detector_would_hold() -> None:
    rules = compile_rules(ClassificationSpec())
    for notice in notices_for(classified_analysis(), HELD):
        assert scan_text(text_of(notice), "body", rules).markings == ()
        assert scan_text(str(notice["Subject"]), "subject", rules).markings == ()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("classified toi_mat (TỐI MẬT in subject; MẬT in a.pdf)",
         "classified toi_mat (toi_mat in subject; mat in a.pdf)"),
        ("[TUYỆT MẬT] Kế hoạch.pdf", "[tuyet_mat] Kế hoạch.pdf"),
        ("(Tối mật) bao cao.pdf", "(toi_mat) bao cao.pdf"),
        ("[ mật ] x", "[mat] x"),
        ("GIẢI MẬT và TOI MAT", "giai_mat và toi_mat"),
        ("TÀI LIỆU THU HỒI", "tài liệu thu hồi"),
        ("mật khẩu, MẬT ONG? bí mật", "mật khẩu, mat ONG? bí mật"),
        (unicodedata.normalize("NFD", "[TỐI MẬT] x"), "[toi_mat] x"),
    ],
)
def test_defuse_writes_stamps_as_degree_ids(text: str, expected: str) -> None:
    assert defuse(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "[\u0422ỐI \u041cẬT] Kế hoạch.pdf",  # Cyrillic Т and М
        "Độ mật: Tối mật",  # the field of document-management exports
        "T Ố I   M Ậ T",  # spaced letters
        "\uff2dẬ\uff34",  # fullwidth M and T
        "Fwd: (Mật) Kế hoạch",  # lower-case, where a stamp's layout makes it one
    ],
)
def test_defuse_writes_every_stamp_form_the_detector_knows(text: str) -> None:
    rules = compile_rules(ClassificationSpec())
    assert scan_text(text, "body", rules).markings != ()
    assert scan_text(defuse(text), "body", rules).markings == ()


STAMPISH = st.lists(st.sampled_from(
    ["MẬT", "mật", "TỐI", "Tối", "TUYỆT", "GIẢI", "MAT", "TOI", "Độ", ":", "[", "]", "(", ")",
     " ", "\n", "\u0422", "\u041c", "\u200b", "M Ậ T", "TÀI LIỆU THU HỒI", "ONG", "bí", "x"]
), max_size=12).map("".join)


@settings(max_examples=150, deadline=None)
@given(STAMPISH)
def test_no_defused_text_bears_a_stamp(text: str) -> None:
    rules = compile_rules(ClassificationSpec())
    assert scan_text(defuse(text), "body", rules).markings == ()


def test_quoted_stamps_do_not_make_the_notice_classified() -> None:
    rules = compile_rules(ClassificationSpec())
    analysis = classified_analysis()
    stamped = replace(analysis.documents[0], filename="[TỐI MẬT] Kế hoạch 12.pdf")
    analysis = replace(analysis, documents=(stamped,))
    rule = replace(HELD.rules[0],
                   reason="classified toi_mat (TỐI MẬT in subject)",
                   message_vi="Thư mang dấu độ mật (TỐI MẬT in subject) đã bị giữ lại.",
                   message_en="")
    verdict = replace(HELD, rules=(rule,))
    for notice in notices_for(analysis, verdict):
        text = text_of(notice)
        assert "[toi_mat] Kế hoạch 12.pdf" in text
        assert "classified toi_mat (toi_mat in subject)" in text
        assert scan_text(text, "body", rules).markings == ()


def test_no_notice_to_the_null_sender() -> None:
    envelope = replace(ENVELOPE, mail_from="")
    notices = build_notices(HELD_ID, classified_analysis(), HELD, SETTINGS,
                            envelope=envelope, officer=OFFICER)
    assert [str(n["To"]) for n in notices] == [OFFICER]


def test_no_notice_answers_an_automatic_message() -> None:
    analysis = classified_analysis(auto_submitted="auto-replied")
    notices = notices_for(analysis, HELD)
    assert [str(n["To"]) for n in notices] == [OFFICER]


def test_rule_targets_choose_who_is_told() -> None:
    notices = notices_for(classified_analysis(),
                          quarantine_verdict("security_officer", "vanthu@hue.gov.vn"))
    assert sorted(str(n["To"]) for n in notices) == [OFFICER, "vanthu@hue.gov.vn"]


def test_targets_resolved_to_addresses_by_the_policy() -> None:
    verdict = quarantine_verdict("b@thuathienhue.gov.vn", "d@hue.gov.vn", OFFICER)
    notices = by_recipient(notices_for(classified_analysis(), verdict))
    assert set(notices) == {"b@thuathienhue.gov.vn", "d@hue.gov.vn", OFFICER}
    assert "10.20.30.40" not in text_of(notices["b@thuathienhue.gov.vn"])
    assert "10.20.30.40" not in text_of(notices["d@hue.gov.vn"])
    assert "10.20.30.40" in text_of(notices[OFFICER])
    automatic = notices_for(classified_analysis(auto_submitted="auto-generated"),
                            verdict, officer=None)
    assert sorted(str(n["To"]) for n in automatic) == [OFFICER, "d@hue.gov.vn"]


def test_without_an_officer_only_the_sender_is_told() -> None:
    notices = notices_for(classified_analysis(), HELD, officer=None)
    assert [str(n["To"]) for n in notices] == ["b@thuathienhue.gov.vn"]


def test_the_officer_is_told_only_when_a_rule_asks() -> None:
    """The policy's rules say who is told (`notify`, default: the sender); the officer of
    the decision is not added to every hold (the config's notices.security_officer was)."""
    notices = notices_for(classified_analysis(), quarantine_verdict())
    assert [str(n["To"]) for n in notices] == ["b@thuathienhue.gov.vn"]


def test_the_officer_of_the_decision_gets_the_officer_notice() -> None:
    """Whoever the policy names officer gets the officer's version, with the client's
    address and the commands; the same address as a mere `notify` target would not."""
    other = "thanhtra@hue.gov.vn"
    notices = by_recipient(notices_for(classified_analysis(), HELD, officer=other))
    assert set(notices) == {"b@thuathienhue.gov.vn", other}
    assert "10.20.30.40" in text_of(notices[other])
    assert f"show|release|delete {HELD_ID}" in text_of(notices[other])
    mixed_case = by_recipient(notices_for(
        classified_analysis(), quarantine_verdict("sender", "ThanhTra@hue.gov.vn"), other))
    assert "10.20.30.40" in text_of(mixed_case["ThanhTra@hue.gov.vn"])


def test_envelope_is_enough_without_analysis() -> None:
    notices = notices_for(None, HELD)
    assert len(notices) == 2
    assert "classified-never-by-mail" in text_of(notices[0])


def test_notices_go_out_with_the_null_sender(tmp_path: Path) -> None:
    notices = notices_for(classified_analysis(), HELD)
    queued = [QueuedNotice(str(n), HELD_ID, item.recipients, item.data, 0, NOW)
              for n, item in enumerate(map(outgoing, notices))]
    errors = [asyncio.run(send_notice(MaildirUpstream(tmp_path), item)) for item in queued]
    assert errors == ["", ""]
    delivered = sorted((tmp_path / "new").iterdir())
    assert len(delivered) == 2
    for path in delivered:
        content = path.read_bytes()
        assert content.startswith(b"Return-Path: <>\n")
        assert b"X-TTH-Notice: " + HELD_ID.encode() in content


def test_a_hold_for_another_reason_gives_no_classified_advice() -> None:
    notices = by_recipient(
        notices_for(None, HELD)
    )
    text = text_of(notices["b@thuathienhue.gov.vn"])
    assert "confidential channel" not in text
    assert "kênh bảo mật" not in text
    assert "quote the reference above" in text
