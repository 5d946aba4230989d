"""Bilingual notices about a held message, to its sender and to the security officer.

A notice says what was held and why (rules, degree of the marking and where it
was found, document names) with the reference id, never any of the message's
content. It is sent with the null envelope sender `<>` straight to the
upstream, so it cannot bounce back, and no notice ever goes to a null sender
or answers an automatic message (RFC 3834): a notice can never start a loop.
Degree names are written in lower case inside sentences, and stamps quoted
from rule reasons or file names as degree ids (`defuse`), so a notice carries
no stamp that the marking detector would take for one if it came by again.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime, getaddresses, make_msgid
from enum import StrEnum

from gateway.analysis.defusing import defuse
from gateway.analysis.model import Analysis
from gateway.analysis.serialise import document_brief, level
from gateway.config import NoticeSettings
from gateway.mail.envelope import Envelope
from gateway.policy.verdict import Mode, RuleHit, Verdict
from gateway.policy.wording import place_vi
from gateway.quarantine.interface import OutgoingNotice

log = logging.getLogger("gateway.quarantine.notices")

NOTICE_HEADER = "X-TTH-Notice"

_LEVEL_VI = {"mat": "mật", "toi_mat": "tối mật", "tuyet_mat": "tuyệt mật"}
_LEVEL_EN = {"mat": "confidential", "toi_mat": "secret", "tuyet_mat": "top secret"}


class Audience(StrEnum):
    SENDER = "sender"
    OFFICER = "officer"


@dataclass(frozen=True, slots=True)
class _Facts:
    """What a notice may say about the held message."""

    held_id: str
    envelope: Envelope
    rules: tuple[RuleHit, ...]
    classification: str | None
    markings: tuple[tuple[str | None, str], ...]
    documents: tuple[tuple[str, str, str | None], ...]


def _facts(held_id: str, envelope: Envelope, analysis: Analysis | None,
           verdict: Verdict) -> _Facts:
    rules = tuple(hit for hit in verdict.rules if hit.mode is Mode.ENFORCE)
    if analysis is None:
        return _Facts(held_id, envelope, rules, None, (), ())
    markings = tuple(dict.fromkeys(
        (level(m.level), defuse(m.where)) for m in analysis.markings
    ))
    briefs = (document_brief(d) for d in analysis.documents)
    documents = tuple(
        (defuse(brief["filename"]), brief["doc_type"], brief["classification"])
        for brief in briefs
        if brief["filename"]
    )
    return _Facts(held_id, envelope, rules, level(analysis.classification), markings,
                  documents)


def _is_automatic(analysis: Analysis | None) -> bool:
    value = analysis.headers.auto_submitted if analysis is not None else None
    return value is not None and value.strip().lower() not in ("", "no")


def _audience(address: str, envelope: Envelope) -> Audience:
    """The sender and the recipients get the short notice; anyone else the officer's."""
    parties = {envelope.mail_from.lower(), *(r.lower() for r in envelope.rcpt_tos)}
    return Audience.SENDER if address.lower() in parties else Audience.OFFICER


def notice_targets(verdict: Verdict, envelope: Envelope, analysis: Analysis | None,
                   officer: str | None) -> dict[str, Audience]:
    """Address → audience: the rules' `notify` targets (addresses, or the words `sender` and
    `security_officer`; default: the sender). `officer` is the policy's security officer
    (the decision carries it): told when a rule asks, and sent the officer's version."""
    asked = [t for hit in verdict.rules if hit.mode is Mode.ENFORCE for t in hit.notify]
    wanted: list[str] = []
    for target in asked or ["sender"]:
        if target == "sender":
            wanted.append(envelope.mail_from)
        elif target == "security_officer":
            if officer is None:
                log.warning("notice to the security officer asked, but the policy names none "
                            "(settings.security_officer)")
            else:
                wanted.append(officer)
        elif "@" in target:
            wanted.append(target)
        else:
            log.warning("unknown notice target %r ignored", target)
    sender = envelope.mail_from.lower()
    targets: dict[str, Audience] = {}
    for address in wanted:
        is_sender = address.lower() == sender
        if address in ("", "<>") or (is_sender and _is_automatic(analysis)):
            continue
        is_officer = officer is not None and address.lower() == officer.lower()
        targets.setdefault(address,
                           Audience.OFFICER if is_officer else _audience(address, envelope))
    return targets


def _level_vi(level: str | None) -> str:
    return _LEVEL_VI.get(level or "", "không rõ")


def _level_en(level: str | None) -> str:
    return _LEVEL_EN.get(level or "", "unknown")


def _lines_vi(facts: _Facts, audience: Audience) -> list[str]:
    lines = [
        "Thư được mô tả dưới đây đã bị cổng thư công vụ giữ lại và chưa được chuyển đi.",
        f"Mã tham chiếu: {facts.held_id}",
        f"Người gửi: {facts.envelope.mail_from or '<>'}",
        f"Người nhận: {', '.join(facts.envelope.rcpt_tos)}",
    ]
    if audience is Audience.OFFICER:
        lines.append(f"Địa chỉ IP máy gửi: {facts.envelope.client_ip or 'không rõ'}")
    lines.append("Lý do:")
    lines += [
        f"  - quy tắc {hit.name}: {defuse(hit.message_vi or hit.reason_vi)}" for hit in facts.rules
    ]
    if facts.classification:
        lines.append(f"Thư mang dấu chỉ độ mật, mức cao nhất là {_level_vi(facts.classification)}.")
    lines += [
        f"  - dấu mức {_level_vi(level)} tìm thấy ở: {place_vi(where)}"
        for level, where in facts.markings
    ]
    if facts.documents:
        lines.append("Tài liệu đính kèm:")
        lines += [
            f"  - {name}: loại {doc_type}, mức {_level_vi(level) if level else 'thường'}"
            for name, doc_type, level in facts.documents
        ]
    if audience is Audience.SENDER:
        if facts.classification:
            lines.append(
                "Tài liệu có độ mật không được gửi qua thư điện tử; hãy chuyển qua kênh bảo mật "
                "theo quy định."
            )
        lines.append(
            "Nếu đây là nhầm lẫn, hãy liên hệ cán bộ bảo mật và cho biết mã tham chiếu trên."
        )
    else:
        lines.append(f"Xem và xử lý: tth-gateway quarantine show|release|delete {facts.held_id}")
    return lines


def _lines_en(facts: _Facts, audience: Audience) -> list[str]:
    lines = [
        "The message described here was held by the official mail gateway and not delivered.",
        f"Reference: {facts.held_id}",
        f"Sender: {facts.envelope.mail_from or '<>'}",
        f"Recipients: {', '.join(facts.envelope.rcpt_tos)}",
    ]
    if audience is Audience.OFFICER:
        lines.append(f"Client IP address: {facts.envelope.client_ip or 'unknown'}")
    lines.append("Why:")
    lines += [
        f"  - rule {hit.name}: {defuse(hit.message_en or hit.reason)}" for hit in facts.rules
    ]
    if facts.classification:
        lines.append(
            f"The message bears a classification marking; highest degree: "
            f"{_level_en(facts.classification)} ({facts.classification})."
        )
    lines += [
        f"  - {_level_en(level)} marking found in: {where}" for level, where in facts.markings
    ]
    if facts.documents:
        lines.append("Attached documents:")
        lines += [
            f"  - {name}: type {doc_type}, degree {_level_en(level) if level else 'none'}"
            for name, doc_type, level in facts.documents
        ]
    if audience is Audience.SENDER:
        if facts.classification:
            lines.append(
                "Classified documents must not travel by e-mail; use the confidential channel."
            )
        lines.append(
            "If this is a mistake, contact the security officer and quote the reference above."
        )
    else:
        lines.append(f"Review it with: tth-gateway quarantine show|release|delete {facts.held_id}")
    return lines


def _notice(facts: _Facts, to: str, audience: Audience, settings: NoticeSettings,
            now: datetime) -> EmailMessage:
    message = EmailMessage(policy=SMTP)
    message["From"] = Address("Cổng thư công vụ (mail gateway)", addr_spec=settings.from_address)
    message["To"] = to
    message["Subject"] = f"Thư bị giữ lại / Message held: {facts.held_id}"
    message["Date"] = format_datetime(now)
    domain = settings.from_address.rpartition("@")[2] or None
    message["Message-ID"] = make_msgid("tth-notice", domain=domain)
    message["Auto-Submitted"] = "auto-generated"
    message["X-Auto-Response-Suppress"] = "All"
    message[NOTICE_HEADER] = facts.held_id
    message["Content-Language"] = "vi, en"
    text = "\n".join([*_lines_vi(facts, audience), "", "-" * 40, "", *_lines_en(facts, audience)])
    message.set_content(text + "\n", cte="quoted-printable")
    return message


def build_notices(
    held_id: str,
    analysis: Analysis | None,
    verdict: Verdict,
    settings: NoticeSettings,
    *,
    envelope: Envelope,
    officer: str | None,
    now: datetime | None = None,
) -> list[EmailMessage]:
    """One notice per target address (sender version, officer version) about the message
    held with `envelope`; `officer` is the policy's security officer, from the decision."""
    facts = _facts(held_id, envelope, analysis, verdict)
    moment = now or datetime.now(UTC)
    targets = notice_targets(verdict, envelope, analysis, officer)
    return [_notice(facts, to, audience, settings, moment) for to, audience in targets.items()]


def outgoing(notice: EmailMessage) -> OutgoingNotice:
    """The notice as the durable queue keeps it: its recipients and its bytes."""
    recipients = tuple(address for _, address in getaddresses(notice.get_all("To", [])))
    return OutgoingNotice(recipients, notice.as_bytes(policy=SMTP))
