"""The audit record of a refusal at MAIL or RCPT (a refusal after DATA has the full one)."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime

from gateway.deciding.report import rule_json
from gateway.mail.replies import Reply
from gateway.policy.verdict import Verdict
from gateway.record.audit import AuditRecord
from gateway.smtp.session import GatewaySession


def envelope_refusal(session: GatewaySession, tls: bool, stage: str, sender: str,
                     rcpt: str | None, answer: Reply, verdict: Verdict | None) -> AuditRecord:
    """`answer` refused `sender` (at MAIL) or `rcpt` (at RCPT); `verdict` when the policy
    decided it (else the upstream, a limit or a malformed address did)."""
    transaction = session.transaction
    suffix = transaction.id if transaction is not None else secrets.token_hex(6).upper()
    client = session.client
    rendered = answer.render().replace("\r\n", " | ")
    record = AuditRecord(
        time=datetime.now(UTC).isoformat(timespec="milliseconds"),
        session=f"{session.id}.{suffix}",
        client_ip=client.ip,
        client_name=client.name,
        helo=client.helo,
        tls=tls,
        mail_from=sender,
        rcpt_refused=[{"rcpt": rcpt, "reply": rendered}] if rcpt is not None else [],
        outcome="tempfailed" if answer.is_temporary else "rejected",
        reply=rendered,
        stage=stage,
    )
    if verdict is not None:
        record.action = verdict.action.value
        record.rules = [rule_json(hit) for hit in verdict.rules]
    return record
