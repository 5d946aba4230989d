"""Values for policy tests: envelopes, analyses and documents built directly, no parsing."""

from __future__ import annotations

import shutil
from dataclasses import replace
from pathlib import Path
from typing import NamedTuple

import pytest

from gateway.analysis.model import Address, Analysis, Classification, Document, Headers, Marking
from gateway.mail.addresses import parse_envelope_address
from gateway.mail.envelope import Direction, Envelope
from gateway.policy.direction import Transaction
from gateway.policy.engine import evaluate_message
from gateway.policy.loader import Policy, PolicyError, load_sources
from gateway.signatures.model import (
    SignatureKind,
    SignatureResult,
    SignatureStatus,
    SignatureVerdict,
    Signer,
)

POLICIES = Path(__file__).resolve().parents[2] / "policies"
INSIDE_IP = "10.1.2.3"
OUTSIDE_IP = "203.0.113.7"

LISTS = """\
lists:
  official_domains: {domains: [thuathienhue.gov.vn, hue.gov.vn]}
  freemail_domains: {domains: [gmail.com, yahoo.com]}
  partners: {addresses: [partner@gmail.com]}
networks:
  internal_networks: {networks: [10.0.0.0/8]}
  trusted_relays: {networks: [127.0.0.0/8]}
document_types:
  - {id: giay_moi, name: Giấy mời, abbreviations: [GM], designated: true}
  - {id: bao_cao, name: Báo cáo, abbreviations: [BC], designated: true}
  - {id: cong_van, name: Công văn}
settings:
  security_officer: baomat@thuathienhue.gov.vn
  agency_names: ['\\bubnd\\b.*\\bthua thien hue\\b']
signatures:
  agency_organisations:
    sotttt.thuathienhue.gov.vn: ["Sở Thông tin và Truyền thông"]
"""


def policy_of(rules: str, lists: str = LISTS) -> Policy:
    """A policy from the test lists and the given `rules:` text."""
    return load_sources([("lists.yaml", lists), ("rules.yaml", rules)])


def errors_of(*sources: tuple[str, str]) -> list[str]:
    """Every error the loader gives for `sources` (`(name, text)` pairs)."""
    with pytest.raises(PolicyError) as caught:
        load_sources(list(sources))
    return caught.value.errors


def rules_errors(rules: str) -> list[str]:
    """The loader's errors for the test lists and the given `rules:` text."""
    return errors_of(("lists.yaml", LISTS), ("rules.yaml", rules))


def copy_default(target: Path) -> Path:
    """The default policy directory copied to `target` (for edits in tests)."""
    for path in POLICIES.glob("*.yaml"):
        shutil.copy(path, target / path.name)
    return target


def address(text: str, name: str = "") -> Address:
    parsed = parse_envelope_address(text)
    assert parsed is not None
    return Address(name, text, parsed.domain)


def envelope(
    mail_from: str = "a@thuathienhue.gov.vn",
    rcpts: tuple[str, ...] = ("b@thuathienhue.gov.vn",),
    client_ip: str | None = INSIDE_IP,
) -> Envelope:
    return Envelope(mail_from, rcpts, client_ip)


def signature(status: SignatureStatus, signer: Signer | None = None) -> SignatureVerdict:
    if status is SignatureStatus.MISSING:
        return SignatureVerdict()
    result = SignatureResult(SignatureKind.PDF, status, signer=signer)
    return SignatureVerdict(status, (result,), "own")


def document(
    filename: str | None = "Giấy mời họp.pdf",
    doc_type: str = "giay_moi",
    status: SignatureStatus = SignatureStatus.MISSING,
    *,
    official_number: str | None = None,
    classification: Classification | None = None,
    uninspectable: str | None = None,
    detected_type: str = "application/pdf",
    signer: Signer | None = None,
    source: str = "title",
) -> Document:
    return Document(
        path="2",
        filename=filename,
        declared_type="application/pdf",
        detected_type=detected_type,
        size=1000,
        sha256="0" * 64,
        doc_type=doc_type,
        doc_type_source=source if doc_type != "other" else "",
        official_number=official_number,
        classification=classification,
        markings=(Marking(classification, classification.name, "document"),)
        if classification
        else (),
        uninspectable=uninspectable,
        signature=signature(status, signer),
    )


class Case(NamedTuple):
    """A message to judge: the transaction (envelope and direction) and the analysis, in the
    order `evaluate_message(policy, *case)` takes them."""

    transaction: Transaction
    analysis: Analysis

    def with_analysis(self, value: Analysis) -> Case:
        return self._replace(analysis=value)

    def with_headers(self, headers: Headers) -> Case:
        return self.with_analysis(replace(self.analysis, headers=headers))


def analysis(
    env: Envelope | None = None,
    direction: Direction = Direction.OUTBOUND,
    *,
    from_: tuple[Address, ...] | None = None,
    documents: tuple[Document, ...] = (),
    classification: Classification | None = None,
    size: int = 2000,
    reply_to: tuple[Address, ...] = (),
    forwarding: tuple[str, ...] = (),
    subject: str = "Hello",
) -> Case:
    """The transaction of `env` in `direction`, and an analysis built as the analysis builds
    it (`Analysis.of`): a subject stamp when `classification` is given, then each
    document's stamps."""
    env = env or envelope()
    if from_ is None:
        parsed = parse_envelope_address(env.mail_from)
        usable = parsed is not None and not parsed.is_null
        from_ = (address(env.mail_from),) if usable else ()
    headers = Headers(
        from_addresses=from_,
        author=from_[0] if len(from_) == 1 else None,
        author_problem=None if len(from_) == 1 else f"from: {len(from_)} mailboxes",
        reply_to=reply_to,
        subject=subject,
        forwarding_markers=forwarding,
    )
    markings = (Marking(classification, "MẬT", "subject"),) if classification else ()
    found = Analysis.of(size, headers, documents, message_markings=markings)
    return Case(Transaction(env, direction), found)


def one_rule(when: str, unless: str = "") -> Policy:
    """A policy with one `tag` rule (tried after DATA, whatever its conditions need)."""
    extra = f"\n    unless: {unless}" if unless else ""
    return policy_of(f"rules:\n  - name: probe\n    when: {when}{extra}\n    action: tag\n")


def reason(policy: Policy, value: Case) -> str | None:
    """The probe rule's reason when it matches `value`, else None."""
    hits = evaluate_message(policy, *value).rules
    return hits[0].reason if hits else None
