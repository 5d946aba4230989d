"""The verdict as data: the JSON of `check --json` and the audit log's decision fields."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

from gateway.analysis.model import Analysis
from gateway.analysis.serialise import (
    document_brief,
    document_json,
    level,
    marking_json,
    signature_json,
)
from gateway.auth.results import Authentication, authentication_json
from gateway.deciding.seam import MessageDecision
from gateway.mail.envelope import Direction
from gateway.policy.verdict import RuleHit, Verdict
from gateway.record.audit import AuditRecord


def rule_json(hit: RuleHit) -> dict[str, Any]:
    return {
        "name": hit.name,
        "action": hit.action.value,
        "mode": hit.mode.value,
        "reason": hit.reason,
        "reason_vi": hit.reason_vi,
        **({"recipients": list(hit.recipients)} if hit.recipients else {}),
    }


def _message_signature(analysis: Analysis) -> dict[str, Any] | None:
    signature = analysis.message_signature
    return signature_json(signature) if signature is not None else None


#: What the verdict reports of the analysis, key by key: the one place that defines them
#: (a new section, such as `authentication`, is one more entry). Without an analysis
#: (a message that could not be read) each key is still present, `None` or empty.
ANALYSIS_SECTIONS: dict[str, tuple[Callable[[Analysis], Any], Any]] = {
    "classification": (lambda analysis: level(analysis.classification), None),
    "markings": (lambda analysis: [marking_json(m) for m in analysis.markings], []),
    "documents": (lambda analysis: [document_json(d) for d in analysis.documents], []),
    "uninspectable": (lambda analysis: list(analysis.uninspectable), []),
    "problems": (lambda analysis: list(analysis.problems), []),
    "message_signature": (_message_signature, None),
}

#: Every key of a verdict, in order, whichever stage (mail, rcpt, data) decided.
VERDICT_KEYS = ("action", "stage", "direction", *ANALYSIS_SECTIONS, "authentication", "rules",
                "missed", "redirect_to")


def verdict_json(verdict: Verdict, analysis: Analysis | None, stage: str = "data",
                 authentication: Authentication | None = None,
                 direction: Direction | None = None) -> dict[str, Any]:
    """The shape of DESIGN.md, the same keys (`VERDICT_KEYS`) every time: the action, the
    stage that decided it (`mail`, `rcpt`, `data`), the direction the policy computed, the
    analysis, the sender authentication (null for mail from inside), the rules."""
    body: dict[str, Any] = {"action": verdict.action.value, "stage": stage,
                            "direction": direction.value if direction is not None else None}
    for key, (section, empty) in ANALYSIS_SECTIONS.items():
        body[key] = section(analysis) if analysis is not None else copy.copy(empty)
    body["authentication"] = authentication_json(authentication)
    body["rules"] = [rule_json(hit) for hit in verdict.rules]
    body["missed"] = list(verdict.missed)
    body["redirect_to"] = list(verdict.redirect_to)
    return body


def describe_decision(record: AuditRecord, decision: MessageDecision) -> None:
    """Copy what the auditor needs from the decision into the audit record (never content)."""
    verdict, analysis = decision.verdict, decision.analysis
    record.action = verdict.action.value
    record.rules = [rule_json(hit) for hit in verdict.rules]
    record.authentication = authentication_json(decision.authentication)
    if analysis is None:
        return
    record.direction = decision.direction.value if decision.direction is not None else None
    record.classification = level(analysis.classification)
    record.documents = [document_brief(document) for document in analysis.documents]
