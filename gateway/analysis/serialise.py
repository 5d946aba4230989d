"""A document as plain data, written in one place.

`document_json` is the one serialisation of a `Document` (the verdict JSON's
`documents` entries, DESIGN.md); every other record of a document takes its
fields from it: `document_brief` for the audit log and the held metadata, the
summary header (`gateway.policy.summary`) and the notices.
"""

from __future__ import annotations

from typing import Any

from gateway.analysis.model import Classification, Document, Marking
from gateway.signatures.model import SignatureResult, SignatureVerdict

#: The fields of a document the audit log keeps (`signature` is the status only).
BRIEF_FIELDS = ("filename", "doc_type", "classification", "signature", "sha256")


def level(classification: Classification | None) -> str | None:
    """A degree as the records write it: `mat`, `toi_mat`, `tuyet_mat`, or null."""
    return classification.value if classification is not None else None


def marking_json(marking: Marking) -> dict[str, Any]:
    """A stamp: its degree, the stamp and where it was; never the text around it."""
    return {"level": level(marking.level), "stamp": marking.stamp, "where": marking.where}


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


def document_json(document: Document) -> dict[str, Any]:
    """Everything known of a document: name, place, type, size, hash, document type and
    where it was read, number, degree and stamps, uninspectable reason, signature."""
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
        "classification": level(document.classification),
        "markings": [marking_json(marking) for marking in document.markings],
        "declassified": document.declassified,
        "uninspectable": document.uninspectable,
        "signature": signature_json(document.signature),
    }


def document_brief(document: Document) -> dict[str, Any]:
    """The audit log's record of a document (`BRIEF_FIELDS`): `document_json`'s fields, the
    signature reduced to its status."""
    full = document_json(document)
    full["signature"] = full["signature"]["status"]
    return {name: full[name] for name in BRIEF_FIELDS}
