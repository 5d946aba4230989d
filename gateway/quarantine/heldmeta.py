"""What the quarantine records about a held message: envelope, why, what happened. No content."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from pydantic import TypeAdapter

from gateway.analysis.model import Analysis, Document, Marking
from gateway.analysis.serialise import document_brief, level, marking_json
from gateway.mail.envelope import Direction, Envelope
from gateway.policy.verdict import RuleHit, Verdict


class HoldStatus(StrEnum):
    HELD = "held"
    RELEASED = "released"
    DELETED = "deleted"


@dataclass(frozen=True, slots=True)
class HeldRule:
    name: str
    action: str
    reason: str = ""


@dataclass(frozen=True, slots=True)
class HeldMarking:
    """A classification stamp: its level, the stamp and where it was; never the text around it."""

    level: str | None
    stamp: str
    where: str


@dataclass(frozen=True, slots=True)
class HeldDocument:
    filename: str | None
    doc_type: str
    classification: str | None
    signature: str


@dataclass(frozen=True, slots=True)
class HeldDecision:
    """Why the message is held: the action, the rules that fired and what the analysis found."""

    action: str
    rules: tuple[HeldRule, ...] = ()
    direction: str | None = None
    classification: str | None = None
    markings: tuple[HeldMarking, ...] = ()
    documents: tuple[HeldDocument, ...] = ()


@dataclass(frozen=True, slots=True)
class HoldRequest:
    """What the caller knows when it asks for a message to be held."""

    envelope: Envelope
    decision: HeldDecision
    message_id: str | None = None
    session: str | None = None


@dataclass(frozen=True, slots=True)
class ReleaseInfo:
    by: str
    at: str
    upstream_reply: str
    recipients: tuple[str, ...] = ()
    refused: tuple[str, ...] = ()
    reason: str = ""


@dataclass(frozen=True, slots=True)
class DeletionInfo:
    by: str
    at: str
    reason: str = ""


@dataclass(frozen=True, slots=True)
class HeldMetadata:
    """The JSON file next to each held message."""

    id: str
    received: str
    size: int
    sha256: str
    envelope: Envelope
    decision: HeldDecision
    status: HoldStatus = HoldStatus.HELD
    message_id: str | None = None
    session: str | None = None
    encryption: str | None = None
    release: ReleaseInfo | None = None
    deletion: DeletionInfo | None = None
    releases: tuple[ReleaseInfo, ...] = ()


METADATA = TypeAdapter(HeldMetadata)


def metadata_json(metadata: HeldMetadata) -> bytes:
    return METADATA.dump_json(metadata, indent=2) + b"\n"


def metadata_dict(metadata: HeldMetadata) -> dict[str, object]:
    result: dict[str, object] = METADATA.dump_python(metadata, mode="json")
    return result


def parse_metadata(data: bytes) -> HeldMetadata:
    """Raises pydantic.ValidationError when the file is not quarantine metadata."""
    return METADATA.validate_json(data)


def metadata_from_dict(data: object) -> HeldMetadata:
    """The metadata from its `metadata_dict` form (e.g. a database's JSON column)."""
    return METADATA.validate_python(data)


def held_marking(marking: Marking) -> HeldMarking:
    return HeldMarking(**marking_json(marking))


def held_document(document: Document) -> HeldDocument:
    """The audit log's record of the document, without its hash."""
    brief = document_brief(document)
    return HeldDocument(brief["filename"], brief["doc_type"], brief["classification"],
                        brief["signature"])


def held_rule(hit: RuleHit) -> HeldRule:
    return HeldRule(hit.name, hit.action.value, hit.reason)


def hold_request(
    envelope: Envelope,
    verdict: Verdict,
    analysis: Analysis | None,
    session: str | None = None,
    direction: Direction | None = None,
) -> HoldRequest:
    """The request to hold a message, from what the policy decided about it, in which
    `direction`, on which `analysis` (its markings are the whole message's)."""
    decision = HeldDecision(action=verdict.action.value, rules=tuple(map(held_rule, verdict.rules)))
    message_id = None
    if analysis is not None:
        decision = HeldDecision(
            action=decision.action,
            rules=decision.rules,
            direction=direction.value if direction is not None else None,
            classification=level(analysis.classification),
            markings=tuple(dict.fromkeys(map(held_marking, analysis.markings))),
            documents=tuple(map(held_document, analysis.documents)),
        )
        message_id = analysis.headers.message_id
    return HoldRequest(envelope, decision, message_id, session)
