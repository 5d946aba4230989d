"""Which signature covers which document: own (PDF, detached CMS) or inherited (S/MIME).

A detached signature file `X.p7s` / `X.sig` in the same container (message or
archive) as `X` is checked over `X`'s bytes; the signature file is then no
document of its own. A document's own valid signature wins; otherwise its
first own verdict counts. A document without any own signature, inside an
S/MIME-signed entity, takes the S/MIME verdict (source "smime"), as DESIGN.md
says: a valid S/MIME signature by the sender signs what it carries. A document
whose content could not be inspected (encrypted, refused) and shows no
signature is `unknown`, not `missing`: nobody could look.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from gateway.analysis import filetypes
from gateway.analysis.ports import SignatureChecking
from gateway.analysis.walk import Leaf
from gateway.signatures.model import SignatureStatus, SignatureVerdict


@dataclass(frozen=True, slots=True)
class Pairing:
    """Leaf index of a document -> its detached signature file; the indexes of those files."""

    detached: dict[int, Leaf]
    consumed: frozenset[int]


def pair_signatures(leaves: list[Leaf]) -> Pairing:
    """Pair `X.p7s`/`X.sig` with `X` inside the same container."""
    by_name = {
        (leaf.scope.key, leaf.filename.casefold()): index
        for index, leaf in enumerate(leaves)
        if leaf.filename and leaf.refused is None
    }
    detached: dict[int, Leaf] = {}
    consumed: set[int] = set()
    for index, leaf in enumerate(leaves):
        if leaf.refused is not None or not filetypes.is_signature_file(leaf.filename):
            continue
        assert leaf.filename is not None
        target = by_name.get((leaf.scope.key, leaf.filename[:-4].casefold()))
        if target is not None and target != index:
            detached[target] = leaf
            consumed.add(index)
    return Pairing(detached, frozenset(consumed))


def document_signature(
    index: int, leaf: Leaf, pairing: Pairing, signatures: SignatureChecking | None
) -> SignatureVerdict:
    """The verdict for one document (the default `missing` when nothing can check it)."""
    if signatures is None or leaf.refused is not None:
        return _inherited(SignatureVerdict(), leaf)
    own: list[SignatureVerdict] = []
    if leaf.detected_type == filetypes.PDF:
        own.append(signatures.check_pdf(leaf.data))
    if index in pairing.detached:
        own.append(signatures.check_detached(leaf.data, pairing.detached[index].data))
    present = [v for v in own if v.status != SignatureStatus.MISSING]
    valid = [v for v in present if v.status == SignatureStatus.VALID]
    if valid or present:
        return (valid or present)[0]
    return _inherited(own[0] if own else SignatureVerdict(), leaf)


def unchecked_when_missing(verdict: SignatureVerdict, reason: str) -> SignatureVerdict:
    """A document that could not be read: "no signature found" means "could not be checked"."""
    if verdict.status != SignatureStatus.MISSING:
        return verdict
    return SignatureVerdict(SignatureStatus.UNKNOWN, verdict.signatures, verdict.source,
                            f"content could not be inspected: {reason}")


def _inherited(verdict: SignatureVerdict, leaf: Leaf) -> SignatureVerdict:
    smime = leaf.scope.inherited
    if verdict.status != SignatureStatus.MISSING or smime is None:
        return verdict
    return replace(smime, source="smime",
                   detail=smime.detail or "no signature of its own: the S/MIME signature counts")
