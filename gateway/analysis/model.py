"""The immutable `Analysis` of one message: what the policies decide on."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from enum import StrEnum

from gateway.signatures.model import SignatureVerdict


class Classification(StrEnum):
    """State-secret degrees (Law 117/2025/QH15), lowest first."""

    MAT = "mat"
    TOI_MAT = "toi_mat"
    TUYET_MAT = "tuyet_mat"

    @property
    def rank(self) -> int:
        return _CLASSIFICATION_RANK[self]


_CLASSIFICATION_RANK = {
    Classification.MAT: 1,
    Classification.TOI_MAT: 2,
    Classification.TUYET_MAT: 3,
}


def highest_classification(
    levels: tuple[Classification | None, ...] | list[Classification | None],
) -> Classification | None:
    """The strongest degree among `levels`, or None when there is none."""
    present = [level for level in levels if level is not None]
    return max(present, key=lambda level: level.rank) if present else None


@dataclass(frozen=True, slots=True)
class Marking:
    """A classification stamp found somewhere in the message."""

    level: Classification | None
    stamp: str
    where: str
    evidence: str = ""


@dataclass(frozen=True, slots=True)
class Address:
    """One parsed header address."""

    display_name: str
    addr_spec: str
    domain: str


@dataclass(frozen=True, slots=True)
class Headers:
    """The header fields the policies look at, already decoded.

    `forwarding_markers` is the evidence of automatic forwarding
    (`auto-submitted: auto-forwarded`, `x-forwarded-for`, `resent-from`, ...);
    `fields` is every header field as (lowercase name, decoded value), in order.
    `author` is the one From mailbox a mail client shows, the only From value a
    signature or a rule binds to: None when there are several From fields or
    mailboxes, none, or an address list that cannot be read (`author_problem`
    says which).
    """

    from_addresses: tuple[Address, ...] = ()
    author: Address | None = None
    author_problem: str | None = None
    sender: Address | None = None
    reply_to: tuple[Address, ...] = ()
    to: tuple[Address, ...] = ()
    cc: tuple[Address, ...] = ()
    subject: str = ""
    message_id: str | None = None
    auto_submitted: str | None = None
    problems: tuple[str, ...] = ()
    forwarding_markers: tuple[str, ...] = ()
    fields: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, slots=True)
class Document:
    """One document found in the MIME tree (an attachment, or a body part).

    `doc_type_source` says where its type was read (doctype.Source): `title`,
    `number`, `summary_line` (its own text), or only `filename` / `subject`.

    `path` locates it: MIME part numbers like "2.1", archive members after
    "!" ("2!report/a.pdf"), nested messages after "/rfc822/".
    """

    path: str
    filename: str | None
    declared_type: str
    detected_type: str
    size: int
    sha256: str
    doc_type: str = "other"
    doc_type_evidence: str = ""
    doc_type_source: str = ""
    official_number: str | None = None
    classification: Classification | None = None
    markings: tuple[Marking, ...] = ()
    declassified: bool = False
    uninspectable: str | None = None
    signature: SignatureVerdict = field(default_factory=SignatureVerdict)


@dataclass(frozen=True, slots=True)
class Analysis:
    """What was found in one message, and nothing else (the envelope and the direction are
    the policy's). `markings`, `classification` and `uninspectable` are the single source
    for the whole message, documents included: build them with `Analysis.of`."""

    size: int
    headers: Headers = field(default_factory=Headers)
    documents: tuple[Document, ...] = ()
    classification: Classification | None = None
    markings: tuple[Marking, ...] = ()
    uninspectable: tuple[str, ...] = ()
    problems: tuple[str, ...] = ()
    message_signature: SignatureVerdict | None = None
    #: Seconds spent validating signatures (0 when none was checked).
    signature_seconds: float = 0.0

    @classmethod
    def of(
        cls,
        size: int,
        headers: Headers,
        documents: tuple[Document, ...],
        message_markings: tuple[Marking, ...] = (),
        problems: tuple[str, ...] = (),
        message_signature: SignatureVerdict | None = None,
    ) -> Analysis:
        """The analysis of a message: the stamps of the message itself then of each
        document, the highest degree among them, and each document that could not be read."""
        markings = message_markings + tuple(m for d in documents for m in d.markings)
        return cls(
            size=size,
            headers=headers,
            documents=documents,
            classification=highest_classification([m.level for m in markings]),
            markings=markings,
            uninspectable=tuple(_uninspectable(documents)),
            problems=problems,
            message_signature=message_signature,
        )


def _uninspectable(documents: tuple[Document, ...]) -> Iterator[str]:
    for document in documents:
        if document.uninspectable:
            name = f" {document.filename!r}" if document.filename else ""
            yield f"{document.path}{name}: {document.uninspectable}"
