"""One `Document` per leaf: text, Vietnamese document type, markings, signature."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Hashable
from functools import partial

from gateway.analysis import filetypes
from gateway.analysis.doctype import (
    TypeFinding,
    TypeTable,
    identify_from_filename,
    identify_from_subject,
    identify_from_text,
)
from gateway.analysis.extract import Extraction, extract_text
from gateway.analysis.extract.cache import TextCache
from gateway.analysis.extract.ocr import MessageOcr
from gateway.analysis.markings import MarkingRules, MarkingScan, scan_filename, scan_text
from gateway.analysis.model import Document
from gateway.analysis.readings import Classifiers, Reading, ReadingCache
from gateway.analysis.settings import AnalysisLimits
from gateway.analysis.timelimit import Deadline, TimeLimitExceeded, alarm
from gateway.analysis.walk import Leaf
from gateway.signatures.model import SignatureVerdict

log = logging.getLogger("gateway.analysis.documents")


def read_leaf(leaf: Leaf, classifiers: Classifiers, subject_allowed: bool,
              readings: ReadingCache | None = None, ocr: MessageOcr | None = None) -> Reading:
    """Extract the leaf's text (within the time limit, scans read by `ocr`) and classify
    it, or take its reading, or else its text, as read before from `readings`."""
    sha256 = hashlib.sha256(leaf.data).hexdigest()
    if readings is None or leaf.refused is not None:  # a refused leaf's bytes are not read
        return _read(leaf, sha256, classifiers, subject_allowed, None, ocr)
    read = partial(_read, leaf, sha256, classifiers, subject_allowed, readings.texts, ocr)
    return readings.reading(_reading_key(leaf, sha256, subject_allowed), classifiers, read)


def _read(leaf: Leaf, sha256: str, classifiers: Classifiers, subject_allowed: bool,
          texts: TextCache | None, ocr: MessageOcr | None) -> Reading:
    """The reading of `leaf`, its text taken from `texts` when read before."""
    extract = partial(_extract, leaf, classifiers.limits, ocr)
    if texts is None:
        extraction = extract()
    else:
        extraction = texts.extraction(sha256, leaf.detected_type, leaf.charset,
                                      classifiers.limits, extract)
    scan = _scan(leaf, extraction.text, classifiers.rules)
    finding = _doc_type(leaf, extraction.text, classifiers.types, subject_allowed)
    return Reading(extraction, finding, scan, sha256)


def _reading_key(leaf: Leaf, sha256: str, subject_allowed: bool) -> tuple[Hashable, ...]:
    """All a reading depends on besides the classifiers: the bytes, what the walk found
    about them, their place (named in evidence), and the subject where it may speak for
    the document (`_doc_type`)."""
    subject = leaf.scope.subject if subject_allowed and is_document_file(leaf) else None
    return (sha256, leaf.detected_type, leaf.charset, leaf.path, leaf.filename, leaf.is_body,
            subject, leaf.other_names)


def build_document(leaf: Leaf, reading: Reading, signature: SignatureVerdict) -> Document:
    """The immutable `Document` of a leaf."""
    scan = reading.scan
    return Document(
        path=leaf.path,
        filename=leaf.filename,
        declared_type=leaf.declared_type,
        detected_type=leaf.detected_type,
        size=leaf.size if leaf.size is not None else len(leaf.data),
        sha256=reading.sha256,
        doc_type=reading.finding.doc_type,
        doc_type_evidence=reading.finding.evidence,
        doc_type_source=reading.finding.source.value,
        official_number=reading.finding.official_number,
        classification=scan.level,
        markings=scan.markings,
        declassified=scan.declassified,
        uninspectable=leaf.refused or reading.extraction.uninspectable,
        signature=signature,
    )


def describe(leaf: Leaf) -> str:
    """How a place in the message is named in evidence: "attachment 'a.pdf' (2)"."""
    if leaf.is_body:
        return f"body ({leaf.path})"
    if leaf.filename:
        return f"attachment {leaf.filename!r} ({leaf.path})"
    return f"part {leaf.path}"


def is_document_file(leaf: Leaf) -> bool:
    """An attachment whose type can carry an administrative document."""
    return not leaf.is_body and leaf.detected_type in filetypes.DOCUMENT_TYPES


def _extract(leaf: Leaf, limits: AnalysisLimits, ocr: MessageOcr | None) -> Extraction:
    if leaf.refused is not None or not leaf.data:
        return Extraction()
    seconds = limits.document_seconds
    try:
        with alarm(seconds):
            return extract_text(
                leaf.data, leaf.detected_type, leaf.charset, limits, Deadline.after(seconds), ocr
            )
    except TimeLimitExceeded:
        return Extraction(uninspectable=f"text extraction ran out of time ({seconds:g} s)")
    except Exception as exc:
        log.exception("text extraction failed for %s", leaf.path)
        return Extraction(uninspectable=f"text extraction failed ({type(exc).__name__})")


def _scan(leaf: Leaf, text: str, rules: MarkingRules) -> MarkingScan:
    place = describe(leaf)
    scan = MarkingScan()
    for name in filter(None, (leaf.filename, *leaf.other_names)):
        scan = scan + scan_filename(name, f"{place} filename", rules)
    if text:
        scan = scan + scan_text(text, f"{place} text", rules)
    return scan


def _doc_type(leaf: Leaf, text: str, types: TypeTable, subject_allowed: bool) -> TypeFinding:
    if leaf.detected_type in (filetypes.RFC822, filetypes.PKCS7_SIGNATURE):
        return TypeFinding()
    finding = identify_from_text(text, types, strict=leaf.is_body) if text else TypeFinding()
    if finding.doc_type != "other" or not is_document_file(leaf):
        return finding
    if leaf.filename:
        named = identify_from_filename(leaf.filename, types)
        if named.doc_type != "other":
            return TypeFinding(named.doc_type, named.evidence, finding.official_number,
                               named.source)
    if subject_allowed and leaf.scope.subject:
        titled = identify_from_subject(leaf.scope.subject, types)
        if titled.doc_type != "other":
            return TypeFinding(titled.doc_type, titled.evidence, finding.official_number,
                               titled.source)
    return finding
