"""The audit records a session starts: a refusal at MAIL or RCPT, and the record of a
message after DATA (which the action stage completes with the decision and outcome)."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime
from typing import Any

from aiosmtpd.smtp import Envelope as SmtpEnvelope

from gateway.deciding.report import rule_json
from gateway.mail.replies import Reply
from gateway.policy.verdict import Verdict
from gateway.record.audit import AuditRecord
from gateway.smtp.session import GatewaySession, Transaction


def _record(session: GatewaySession, suffix: str, tls: bool, mail_from: str,
            **fields: Any) -> AuditRecord:
    """A record of this session's client, now, for transaction `suffix`."""
    client = session.client
    return AuditRecord(time=datetime.now(UTC).isoformat(timespec="milliseconds"),
                       session=f"{session.id}.{suffix}", client_ip=client.ip,
                       client_name=client.name, helo=client.helo, tls=tls,
                       mail_from=mail_from, **fields)


def envelope_refusal(session: GatewaySession, tls: bool, stage: str, sender: str,
                     rcpt: str | None, answer: Reply, verdict: Verdict | None) -> AuditRecord:
    """`answer` refused `sender` (at MAIL) or `rcpt` (at RCPT); `verdict` when the policy
    decided it (else the upstream, a limit or a malformed address did)."""
    transaction = session.transaction
    suffix = transaction.id if transaction is not None else secrets.token_hex(6).upper()
    rendered = answer.one_line()
    record = _record(
        session, suffix, tls, sender,
        rcpt_refused=[{"rcpt": rcpt, "reply": rendered}] if rcpt is not None else [],
        outcome="tempfailed" if answer.is_temporary else "rejected",
        reply=rendered,
        stage=stage,
    )
    if verdict is not None:
        record.action = verdict.action.value
        record.rules = [rule_json(hit) for hit in verdict.rules]
    return record


def message_record(session: GatewaySession, tls: bool, envelope: SmtpEnvelope,
                   transaction: Transaction, size: int) -> AuditRecord:
    """The record of a whole message, before it is decided."""
    return _record(session, transaction.id, tls, envelope.mail_from or "",
                   rcpt_accepted=list(envelope.rcpt_tos), rcpt_refused=transaction.refused,
                   size=size)
