"""Conditions on digital signatures: the status per document, and who signed."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import model_validator

from gateway.analysis.model import Analysis, Document
from gateway.mail.addresses import in_domain
from gateway.policy.conditions.base import ConditionType, Facts, Match, Names, Resolver, Spec, Stage
from gateway.policy.conditions.documents import Selection, build_selection
from gateway.policy.wording import Evidence, describe, joined, status_vi
from gateway.signatures.identity import signer_matches_agency
from gateway.signatures.model import SignatureStatus, Signer

StatusName = Literal[
    "valid", "missing", "invalid", "modified", "untrusted", "expired", "revoked", "unknown"
]


class SignatureSpec(Spec):
    """`signature: {documents: designated, status_not_in: [valid]}` (or `status_in`)."""

    documents: Names = "any"
    status_in: list[StatusName] | None = None
    status_not_in: list[StatusName] | None = None

    @model_validator(mode="after")
    def _one(self) -> SignatureSpec:
        if (self.status_in is None) == (self.status_not_in is None):
            raise ValueError("give exactly one of status_in, status_not_in")
        return self


@dataclass(frozen=True, slots=True)
class SignatureCondition:
    """Holds when a selected document's signature status is (not) in the set; names each one."""

    selection: Selection
    statuses: frozenset[SignatureStatus]
    inside: bool
    stage: Stage = Stage.MESSAGE
    needs: frozenset[str] = frozenset({"documents.doc_type", "documents.signature"})

    def test(self, facts: Facts) -> Match | None:
        chosen = [
            document
            for document in self.selection.chosen(facts.need_analysis().documents)
            if (document.signature.status in self.statuses) == self.inside
        ]
        if not chosen:
            return None
        labels = tuple(_signature_label(d, self.selection) for d in chosen)
        return Match(joined(labels), documents=labels)


def _signature_label(document: Document, selection: Selection) -> Evidence:
    named = describe(document, selection.type_names)
    return Evidence(f"{named.vi}: {status_vi(document.signature.status.value)}",
                    f"{named.en}: signature {_problem(document)}")


def _problem(document: Document) -> str:
    verdict = document.signature
    detail = verdict.detail or next((s.detail for s in verdict.signatures if s.detail), "")
    return f"{verdict.status.value} ({detail})" if detail else verdict.status.value


def _build_signature(
    spec: SignatureSpec, resolver: Resolver, loc: tuple[Any, ...]
) -> SignatureCondition:
    inside = spec.status_in is not None
    statuses = spec.status_in if spec.status_in is not None else spec.status_not_in
    assert statuses is not None
    selection = build_selection(spec.documents, resolver, (*loc, "documents"))
    return SignatureCondition(selection, frozenset(SignatureStatus(s) for s in statuses), inside)


class SignerSpec(Spec):
    """`signer: {documents: designated, sender_agency: false}`: signed by another body.

    The sending agency is the From domain (else the envelope sender's); its
    organisation names come from `settings.agency_organizations`.
    """

    documents: Names = "any"
    sender_agency: bool


def sender_domain(facts: Facts, analysis: Analysis) -> str | None:
    """The sending agency's domain: the one From mailbox, else the envelope sender's.

    Several From fields or mailboxes name no single sender: the envelope decides.
    """
    if analysis.headers.author is not None:
        return analysis.headers.author.domain
    if facts.sender is not None and not facts.sender.is_null:
        return facts.sender.domain
    return None


def agency_of(domain: str, agencies: Mapping[str, tuple[str, ...]]) -> str | None:
    """The most specific agency domain that `domain` belongs to."""
    owners = [agency for agency in agencies if in_domain(domain, agency)]
    return max(owners, key=len) if owners else None


@dataclass(frozen=True, slots=True)
class SignerCondition:
    """Compares each signer of the selected, signed documents with the sending agency.

    Undecidable (does not hold) when the sender's domain has no entry in
    `settings.agency_organizations`, or a document carries no signer identity.
    """

    selection: Selection
    expected: bool
    agencies: Mapping[str, tuple[str, ...]]
    stage: Stage = Stage.MESSAGE
    needs: frozenset[str] = frozenset({"documents.signature", "headers.from"})

    def test(self, facts: Facts) -> Match | None:
        analysis = facts.need_analysis()
        domain = sender_domain(facts, analysis)
        agency = agency_of(domain, self.agencies) if domain else None
        if agency is None:
            return None
        found = []
        for document in self.selection.chosen(analysis.documents):
            signers = [s.signer for s in document.signature.signatures if s.signer is not None]
            if not signers:
                continue
            ours = any(signer_matches_agency(s, agency, self.agencies) for s in signers)
            if ours == self.expected:
                who = ", ".join(_signer_name(signer) for signer in signers)
                named = describe(document, self.selection.type_names)
                found.append(Evidence(f"{named.vi} do {who} ký", f"{named.en} signed by {who}"))
        if not found:
            return None
        relation = "the sending agency" if self.expected else f"not the sending agency {agency}"
        relation_vi = ("đúng cơ quan gửi" if self.expected
                       else f"không phải cơ quan gửi {agency}")
        said = joined(found)
        return Match(Evidence(f"{said.vi}: {relation_vi}", f"{said.en}: {relation}"),
                     documents=tuple(found))


def _signer_name(signer: Signer) -> str:
    parts = [signer.common_name, signer.organization, signer.email]
    return " / ".join(part for part in parts if part) or "?"


def _build_signer(spec: SignerSpec, resolver: Resolver, loc: tuple[Any, ...]) -> SignerCondition:
    selection = build_selection(spec.documents, resolver, (*loc, "documents"))
    return SignerCondition(selection, spec.sender_agency, resolver.settings.agency_organizations)


SIGNATURE_CONDITIONS = (
    ConditionType("signature", SignatureSpec, _build_signature, "signature status of documents"),
    ConditionType("signer", SignerSpec, _build_signer, "signer belongs to the sending agency"),
)
