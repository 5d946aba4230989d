"""The verdict as data: the JSON of `check --json` and the audit log's decision fields."""

from __future__ import annotations

from typing import Any

from gateway.analysis.model import Analysis, Document, Marking
from gateway.audit import AuditRecord
from gateway.pipeline import MessageDecision
from gateway.policy.verdict import RuleHit, Verdict
from gateway.signatures.model import SignatureResult, SignatureVerdict


def rule_json(hit: RuleHit) -> dict[str, Any]:
    return {
        "name": hit.name,
        "action": hit.action.value,
        "mode": hit.mode.value,
        "reason": hit.reason,
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


def verdict_json(verdict: Verdict, analysis: Analysis | None) -> dict[str, Any]:
    """The shape of DESIGN.md: action, direction, classification, documents, rules."""
    body: dict[str, Any] = {"action": verdict.action.value}
    if analysis is not None:
        body |= {
            "direction": analysis.direction.value,
            "classification": (
                analysis.classification.value if analysis.classification else None
            ),
            "markings": [marking_json(marking) for marking in analysis.markings],
            "documents": [document_json(document) for document in analysis.documents],
            "uninspectable": list(analysis.uninspectable),
            "problems": list(analysis.problems),
        }
        if analysis.message_signature is not None:
            body["message_signature"] = signature_json(analysis.message_signature)
    body["rules"] = [rule_json(hit) for hit in verdict.rules]
    body["missed"] = list(verdict.missed)
    if verdict.redirect_to:
        body["redirect_to"] = list(verdict.redirect_to)
    return body


def describe_decision(record: AuditRecord, decision: MessageDecision) -> None:
    """Copy what the auditor needs from the decision into the audit record (never content)."""
    verdict, analysis = decision.verdict, decision.analysis
    record.action = verdict.action.value
    record.rules = [rule_json(hit) for hit in verdict.rules]
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
