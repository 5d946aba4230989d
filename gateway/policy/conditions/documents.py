"""Conditions on the documents a message carries: type, official number, name and real type.

Documents are chosen with a *selection*, written the same way everywhere:
a list of document type ids (`[giay_moi, bao_cao]`), or one of the words
`designated` (the types the policy's `document_types` mark as designated for
signing), `official` (designated types, and any document bearing an official
number "Số: …"), `any` (every document).

`doc_type` also takes `{documents: <selection>, evidence: filename | content | number}`:
the weakest evidence of the document's kind that counts. `filename` (the default)
counts a type read from the file name or the subject alone; `content` needs the
document's own text (a printed title, a "V/v" summary line, a number); `number`
needs an official number printed in it ("Số: 12/BC-UBND") or a valid signature
by an agency of `signatures.agency_organisations`. Rules that refuse a citizen
use `number`: a name proves nothing about what a file holds.
"""

from __future__ import annotations

import dataclasses
import fnmatch
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import RootModel, model_validator

from gateway.analysis.doctype import Source
from gateway.analysis.model import Document
from gateway.policy.conditions.base import (
    ConditionType,
    Facts,
    FlagSpec,
    Match,
    Names,
    Regex,
    Resolver,
    Spec,
    Stage,
    compile_regex,
    names,
    searches,
)
from gateway.policy.wording import (
    EVIDENCE_VI,
    OTHER_TYPE_VI,
    SELECTION_VI,
    Evidence,
    describe,
    joined,
)
from gateway.signatures.identity import signer_matches_agency
from gateway.signatures.model import SignatureStatus

SELECTION_WORDS = ("any", "designated", "official")
EvidenceLevel = Literal["filename", "content", "number"]
EVIDENCE_LEVELS: tuple[EvidenceLevel, ...] = ("filename", "content", "number")


def evidence_level(document: Document, agencies: Mapping[str, tuple[str, ...]]) -> int:
    """How strongly the document shows what it is: the index of `EVIDENCE_LEVELS`, -1 none.

    An official number is only ever read in the document's own text; a valid
    signature by an agency counts as much as the number.
    """
    if document.official_number is not None or _agency_signed(document, agencies):
        return 2
    if Source(document.doc_type_source).from_content:
        return 1
    return 0 if document.doc_type != "other" else -1


def _agency_signed(document: Document, agencies: Mapping[str, tuple[str, ...]]) -> bool:
    return document.signature.status is SignatureStatus.VALID and any(
        result.signer is not None and signer_matches_agency(result.signer, agency, agencies)
        for result in document.signature.signatures
        for agency in agencies
    )


@dataclass(frozen=True, slots=True)
class Selection:
    """A compiled document selection; `types` None means every document.

    `evidence` is the weakest evidence level (index of `EVIDENCE_LEVELS`) that counts.
    """

    types: frozenset[str] | None
    official_number: bool = False
    label: str = "any"
    evidence: int = 0
    agencies: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    type_names: Mapping[str, str] = field(default_factory=dict)
    label_vi: str = "tài liệu"

    def selects(self, document: Document) -> bool:
        if self.types is None:
            return True
        kind = document.doc_type in self.types or (
            self.official_number and document.official_number is not None
        )
        return kind and (self.evidence == 0 or evidence_level(document, self.agencies)
                         >= self.evidence)

    def chosen(self, documents: tuple[Document, ...]) -> list[Document]:
        return [document for document in documents if self.selects(document)]


def build_selection(value: Names, resolver: Resolver, loc: tuple[Any, ...]) -> Selection:
    """Compile a selection (type ids, or one of `any`, `designated`, `official`)."""
    given = names(value)
    type_names = resolver.type_names()
    word = given[0] if len(given) == 1 and given[0] in SELECTION_WORDS else None
    if word == "any":
        return Selection(None, type_names=type_names)
    if word is not None:
        return Selection(resolver.designated_types(), word == "official", word,
                         type_names=type_names, label_vi=SELECTION_VI[word])
    reserved = [name for name in given if name in SELECTION_WORDS]
    if reserved:
        resolver.error(loc, f"'{reserved[0]}' cannot be combined with document type ids")
    label_vi = ", ".join(type_names.get(name, OTHER_TYPE_VI) for name in given)
    return Selection(resolver.doc_types(value, loc), label=", ".join(given),
                     type_names=type_names, label_vi=label_vi)


def _found(selection: Selection, documents: list[Document], what: Evidence) -> Match:
    labels = tuple(describe(document, selection.type_names) for document in documents)
    listed = joined(labels, ", ")
    return Match(Evidence(f"{what.vi}: {listed.vi}", f"{what.en}: {listed.en}"),
                 documents=labels)


class EvidenceSelectionSpec(Spec):
    """`doc_type: {documents: official, evidence: number}`."""

    documents: Names
    evidence: EvidenceLevel = "filename"


class SelectionSpec(RootModel[Names | EvidenceSelectionSpec]):
    """`doc_type: [giay_moi, bao_cao]`, `doc_type: designated`, `doc_type: official`,
    or with the evidence that counts: `{documents: official, evidence: number}`."""

    model_config = {"strict": True}


@dataclass(frozen=True, slots=True)
class DocTypeCondition:
    """Holds when any document is of the selected types; names those documents."""

    selection: Selection
    stage: Stage = Stage.MESSAGE
    needs: frozenset[str] = frozenset({"documents.doc_type", "documents.official_number"})

    def test(self, facts: Facts) -> Match | None:
        chosen = self.selection.chosen(facts.need_analysis().documents)
        what = Evidence(self.selection.label_vi, f"{self.selection.label} document")
        return _found(self.selection, chosen, what) if chosen else None


def _build_doc_type(
    spec: SelectionSpec, resolver: Resolver, loc: tuple[Any, ...]
) -> DocTypeCondition:
    if not isinstance(spec.root, EvidenceSelectionSpec):
        return DocTypeCondition(build_selection(spec.root, resolver, loc))
    selection = build_selection(spec.root.documents, resolver, (*loc, "documents"))
    level = EVIDENCE_LEVELS.index(spec.root.evidence)
    return DocTypeCondition(dataclasses.replace(
        selection, evidence=level, agencies=resolver.settings.agency_organizations,
        label=f"{selection.label} ({spec.root.evidence} evidence)",
        label_vi=f"{selection.label_vi} ({EVIDENCE_VI[spec.root.evidence]})",
    ))


@dataclass(frozen=True, slots=True)
class OfficialNumberCondition:
    """Holds when some document bears an official number (`false`: when none does)."""

    expected: bool
    type_names: Mapping[str, str] = field(default_factory=dict)
    stage: Stage = Stage.MESSAGE
    needs: frozenset[str] = frozenset({"documents.official_number"})

    def test(self, facts: Facts) -> Match | None:
        numbered = [d for d in facts.need_analysis().documents if d.official_number is not None]
        if bool(numbered) != self.expected:
            return None
        if not numbered:
            return Match(Evidence("không văn bản nào có số, ký hiệu",
                                  "no document bears an official number"))
        labels = tuple(describe(d, self.type_names) for d in numbered)
        found = joined((Evidence(f"{label.vi} Số: {d.official_number}",
                                 f"{label.en} Số: {d.official_number}")
                        for label, d in zip(labels, numbered, strict=True)), ", ")
        return Match(Evidence(f"số, ký hiệu văn bản: {found.vi}", f"official number: {found.en}"),
                     documents=labels)


def _build_official_number(
    spec: FlagSpec, resolver: Resolver, loc: tuple[Any, ...]
) -> OfficialNumberCondition:
    return OfficialNumberCondition(spec.root, resolver.type_names())


class AttachmentSpec(Spec):
    """Any document whose name matches a glob / regex and whose real type is listed (all given)."""

    name: Names | None = None
    name_matches: Regex | None = None
    detected_type: Names | None = None
    declared_type: Names | None = None
    doc_type: Names | None = None

    @model_validator(mode="after")
    def _something(self) -> AttachmentSpec:
        given = (self.name, self.name_matches, self.detected_type, self.declared_type)
        if all(value is None for value in given) and self.doc_type is None:
            raise ValueError(
                "give at least one of name, name_matches, detected_type, declared_type, doc_type"
            )
        return self


@dataclass(frozen=True, slots=True)
class AttachmentCondition:
    """Globs compare the decoded filename case-insensitively; types are MIME types, lowercase."""

    globs: tuple[str, ...] | None
    pattern: re.Pattern[str] | None
    detected: frozenset[str] | None
    declared: frozenset[str] | None
    selection: Selection
    stage: Stage = Stage.MESSAGE
    needs: frozenset[str] = frozenset({"documents.filename", "documents.detected_type"})

    def test(self, facts: Facts) -> Match | None:
        chosen = [d for d in facts.need_analysis().documents if self._matches(d)]
        what = Evidence("tệp đính kèm", "attachment")
        return _found(self.selection, chosen, what) if chosen else None

    def _matches(self, document: Document) -> bool:
        name = (document.filename or "").casefold()
        if self.globs is not None and not any(fnmatch.fnmatchcase(name, g) for g in self.globs):
            return False
        if self.pattern is not None and not searches(self.pattern, document.filename or ""):
            return False
        if self.detected is not None and document.detected_type.lower() not in self.detected:
            return False
        if self.declared is not None and document.declared_type.lower() not in self.declared:
            return False
        return self.selection.selects(document)


def _lower_set(value: Names | None) -> frozenset[str] | None:
    return frozenset(item.lower() for item in names(value)) if value is not None else None


def _build_attachment(
    spec: AttachmentSpec, resolver: Resolver, loc: tuple[Any, ...]
) -> AttachmentCondition:
    globs = tuple(g.casefold() for g in names(spec.name)) if spec.name is not None else None
    selection = (
        build_selection(spec.doc_type, resolver, (*loc, "doc_type"))
        if spec.doc_type is not None
        else Selection(None, type_names=resolver.type_names())
    )
    return AttachmentCondition(
        globs,
        compile_regex(spec.name_matches) if spec.name_matches is not None else None,
        _lower_set(spec.detected_type),
        _lower_set(spec.declared_type),
        selection,
    )


DOCUMENT_CONDITIONS = (
    ConditionType("doc_type", SelectionSpec, _build_doc_type, "documents of given types"),
    ConditionType(
        "official_number", FlagSpec, _build_official_number, "a document numbered 'Số: …'"
    ),
    ConditionType("attachment", AttachmentSpec, _build_attachment, "attachment name and type"),
)
