"""The verdict as data: the JSON of `check --json` and the audit log's decision fields."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

from gateway.analysis.model import Analysis, Document, Marking
from gateway.auth.results import Authentication, authentication_json
from gateway.deciding.seam import MessageDecision
from gateway.policy.verdict import RuleHit, Verdict
from gateway.record.audit import AuditRecord
from gateway.signatures.model import SignatureResult, SignatureVerdict


def rule_json(hit: RuleHit) -> dict[str, Any]:
    return {
        "name": hit.name,
        "action": hit.action.value,
        "mode": hit.mode.value,
        "reason": hit.reason,
        "reason_vi": hit.reason_vi,
        **({"recipients": list(hit.recipients)} if hit.recipients else {}),
    }


def signer_json(result: SignatureResult) -> dict[str, Any]:
    signer = result.signer
    return {
        "kind": result.kind.value,
        "status": result.status.value,
        "detail": result.detail,
        "signer": None if signer is None else {
            "common_name": signer.common_name,
            "organization": signer.organization,
            "organizational_unit": signer.organizational_unit,
            "email": signer.email,
            "serial": signer.serial,
            "issuer": signer.issuer,
        },
        "signing_time": result.signing_time.isoformat() if result.signing_time else None,
        "timestamped": result.timestamped,
        "coverage": result.coverage,
        **({"notes": list(result.notes)} if result.notes else {}),
    }


def signature_json(verdict: SignatureVerdict) -> dict[str, Any]:
    return {
        "status": verdict.status.value,
        "source": verdict.source,
        **({"detail": verdict.detail} if verdict.detail else {}),
        "signatures": [signer_json(result) for result in verdict.signatures],
    }


def marking_json(marking: Marking) -> dict[str, Any]:
    level = marking.level.value if marking.level else None
    return {"level": level, "stamp": marking.stamp, "where": marking.where}


def document_json(document: Document) -> dict[str, Any]:
    return {
        "filename": document.filename,
        "path": document.path,
        "type": document.detected_type,
        "size": document.size,
        "sha256": document.sha256,
        "doc_type": document.doc_type,
        "doc_type_evidence": document.doc_type_evidence,
        "doc_type_source": document.doc_type_source,
        "official_number": document.official_number,
        "classification": document.classification.value if document.classification else None,
        "markings": [marking_json(marking) for marking in document.markings],
        "declassified": document.declassified,
        "uninspectable": document.uninspectable,
        "signature": signature_json(document.signature),
    }


def _level(analysis: Analysis) -> str | None:
    return analysis.classification.value if analysis.classification else None


def _message_signature(analysis: Analysis) -> dict[str, Any] | None:
    signature = analysis.message_signature
    return signature_json(signature) if signature is not None else None


#: What the verdict reports of the analysis, key by key: the one place that defines them
#: (a new section, such as `authentication`, is one more entry). Without an analysis
#: (a message that could not be read) each key is still present, `None` or empty.
ANALYSIS_SECTIONS: dict[str, tuple[Callable[[Analysis], Any], Any]] = {
    "direction": (lambda analysis: analysis.direction.value, None),
    "classification": (_level, None),
    "markings": (lambda analysis: [marking_json(m) for m in analysis.markings], []),
    "documents": (lambda analysis: [document_json(d) for d in analysis.documents], []),
    "uninspectable": (lambda analysis: list(analysis.uninspectable), []),
    "problems": (lambda analysis: list(analysis.problems), []),
    "message_signature": (_message_signature, None),
}

#: Every key of a verdict, in order, whichever stage (mail, rcpt, data) decided.
VERDICT_KEYS = ("action", "stage", *ANALYSIS_SECTIONS, "authentication", "rules", "missed",
                "redirect_to")


def verdict_json(verdict: Verdict, analysis: Analysis | None, stage: str = "data",
                 authentication: Authentication | None = None) -> dict[str, Any]:
    """The shape of DESIGN.md, the same keys (`VERDICT_KEYS`) every time: the action, the
    stage that decided it (`mail`, `rcpt`, `data`), the analysis, the sender
    authentication (null for mail from inside), the rules."""
    body: dict[str, Any] = {"action": verdict.action.value, "stage": stage}
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
    record.direction = analysis.direction.value
    record.classification = analysis.classification.value if analysis.classification else None
    record.documents = [
        {
            "filename": document.filename,
            "doc_type": document.doc_type,
            "classification": (
                document.classification.value if document.classification else None
            ),
            "signature": document.signature.status.value,
            "sha256": document.sha256,
        }
        for document in analysis.documents
    ]
