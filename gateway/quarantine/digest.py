"""The daily digest to the security officer: what was held and why, in Vietnamese and English."""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime, make_msgid

from gateway.analysis.defusing import defuse
from gateway.config import NoticeSettings
from gateway.quarantine.heldmeta import HeldMetadata
from gateway.quarantine.notices import NOTICE_HEADER


def _line(metadata: HeldMetadata) -> str:
    rules = ", ".join(rule.name for rule in metadata.decision.rules) or "-"
    level = metadata.decision.classification or "-"
    return (f"  {metadata.id}  {metadata.status.value:<8}  {level:<9}  "
            f"{metadata.envelope.mail_from or '<>'} -> {', '.join(metadata.envelope.rcpt_tos)}"
            f"  [{defuse(rules)}]")


def build_digest(records: list[HeldMetadata], since: datetime, until: datetime,
                 settings: NoticeSettings, to: str) -> EmailMessage:
    """One message listing every hold received in [since, until) with its rules; no content."""
    by_rule = Counter(rule.name for m in records for rule in m.decision.rules)
    by_level = Counter(m.decision.classification or "-" for m in records)
    period = f"{since:%Y-%m-%d %H:%M} – {until:%Y-%m-%d %H:%M} UTC"
    lines = [
        f"Bản tổng hợp thư bị giữ lại ({period}): {len(records)} thư.",
        "Theo quy tắc: " + (", ".join(f"{defuse(r)} {n}" for r, n in by_rule.items()) or "không"),
        "Theo độ mật: " + ", ".join(f"{level} {n}" for level, n in by_level.items()),
        "",
        f"Digest of held messages ({period}): {len(records)} message(s).",
        "By rule: " + (", ".join(f"{defuse(r)} {n}" for r, n in by_rule.items()) or "none"),
        "By classification: " + ", ".join(f"{level} {n}" for level, n in by_level.items()),
        "",
        "Mã tham chiếu / reference, trạng thái / status, độ mật / degree, người gửi -> nhận"
        " / sender -> recipients [quy tắc / rules]:",
        *map(_line, records),
        "",
        "Xem / review: tth-gateway quarantine show ID",
    ]
    message = EmailMessage(policy=SMTP)
    message["From"] = Address("Cổng thư công vụ (mail gateway)", addr_spec=settings.from_address)
    message["To"] = to
    count = f"{len(records)} ({until:%Y-%m-%d})"
    message["Subject"] = f"Tổng hợp thư bị giữ / Quarantine digest: {count}"
    message["Date"] = format_datetime(until)
    domain = settings.from_address.rpartition("@")[2] or None
    message["Message-ID"] = make_msgid("tth-digest", domain=domain)
    message["Auto-Submitted"] = "auto-generated"
    message[NOTICE_HEADER] = "digest"
    message["Content-Language"] = "vi, en"
    message.set_content("\n".join(lines) + "\n", cte="quoted-printable")
    return message
