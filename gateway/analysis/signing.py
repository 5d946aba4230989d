"""Which signature covers which document: own (PDF, detached CMS) or inherited (S/MIME).

A detached signature file `X.pdf.p7s`, `X.p7s` (or `.sig`) in the same container
(message or archive) as `X.pdf` is checked over its bytes; the signature file is
then no document of its own (see `pair_signatures`). A document's own valid
signature wins; otherwise its first own verdict counts. A document without any
own signature, inside an S/MIME-signed entity, takes the S/MIME verdict (source
"smime"), as DESIGN.md says: a valid S/MIME signature by the sender signs what
it carries. A document whose content could not be inspected (encrypted,
refused) and shows no signature is `unknown`, not `missing`: nobody could look.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from gateway.analysis import filetypes
from gateway.analysis.ports import SignatureChecking
from gateway.analysis.vietnamese import nfc
from gateway.analysis.walk import Leaf
from gateway.signatures.model import SignatureStatus, SignatureVerdict


@dataclass(frozen=True, slots=True)
class Pairing:
    """Leaf index of a document -> its detached signature file; the indexes of those files."""

    detached: dict[int, Leaf]
    consumed: frozenset[int]


def _key(name: str) -> str:
    """File names compare NFC-normalised and case-insensitively."""
    return nfc(name).casefold()


def _stem(key: str) -> str:
    """`báo cáo.pdf` -> `báo cáo` (names without an extension are their own stem)."""
    head, dot, _ = key.rpartition(".")
    return head if dot and head else key


def _target(signature: str, documents: list[tuple[int, str]]) -> int | None:
    """The document `X.p7s` signs: named `X`, else the only one whose stem is `X`."""
    named = signature[: -len(signature.rpartition(".")[2]) - 1]
    exact = [index for index, key in documents if key == named]
    if exact:
        return exact[0]
    by_stem = [index for index, key in documents if _stem(key) == named]
    return by_stem[0] if len(by_stem) == 1 else None


def pair_signatures(leaves: list[Leaf]) -> Pairing:
    """Pair each signature file with the document it signs, inside the same container.

    `X.pdf.p7s` (full name) or `X.p7s` (stem) beside `X.pdf`, names NFC and
    case-insensitive; and when a container holds exactly one document and one
    signature file, those two whatever their names. A stem shared by several
    documents (`X.pdf`, `X.docx`) pairs none of them: the signature stays a file.
    """
    containers: dict[str, tuple[list[tuple[int, str]], list[tuple[int, str]]]] = {}
    for index, leaf in enumerate(leaves):
        if not leaf.filename or leaf.refused is not None:
            continue
        documents, signature_files = containers.setdefault(leaf.scope.key, ([], []))
        kind = signature_files if filetypes.is_signature_file(leaf.filename) else documents
        kind.append((index, _key(leaf.filename)))
    pairs: dict[int, int] = {}  # document index -> signature file index
    for documents, signature_files in containers.values():
        if len(documents) == 1 and len(signature_files) == 1:
            pairs[documents[0][0]] = signature_files[0][0]
            continue
        for index, key in signature_files:
            target = _target(key, documents)
            if target is not None and target not in pairs:
                pairs[target] = index
    detached = {target: leaves[index] for target, index in pairs.items()}
    return Pairing(detached, frozenset(pairs.values()))


def document_signature(
    index: int, leaf: Leaf, pairing: Pairing, signatures: SignatureChecking | None,
    sha256: str,
) -> SignatureVerdict:
    """The verdict for one document (the default `missing` when nothing can check it);
    `sha256` is the hash of its bytes (hex)."""
    if signatures is None or leaf.refused is not None:
        return _inherited(SignatureVerdict(), leaf)
    own: list[SignatureVerdict] = []
    if leaf.detected_type == filetypes.PDF:
        own.append(signatures.check_pdf(leaf.data, sha256))
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
