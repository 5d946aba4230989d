"""The analysis entry point: message bytes in, one immutable `Analysis` out.

`analyse` is a pure top-level function (it pickles, for the worker pool).
Bad input never raises: broken MIME gives the email package's best reading
and lands in `problems`; unreadable content lands in `uninspectable`. It
raises only for a bug, or when the signature checker raises (fail closed).
"""

from __future__ import annotations

from collections import Counter
from email.message import Message

from gateway.analysis.doctype import type_table
from gateway.analysis.documents import (
    build_document,
    describe,
    is_document_file,
    read_leaf,
)
from gateway.analysis.extract.ocr import MessageOcr, OcrEngine
from gateway.analysis.extract.ocrbudget import OcrBudget
from gateway.analysis.headers import read_headers
from gateway.analysis.markings import (
    MarkingRules,
    MarkingScan,
    compile_rules,
    scan_header,
    scan_subject,
)
from gateway.analysis.model import Analysis, Document, Headers
from gateway.analysis.parsing import parse, parse_headers
from gateway.analysis.ports import SignatureChecking
from gateway.analysis.readings import Classifiers, ReadingCache
from gateway.analysis.settings import AnalysisSettings
from gateway.analysis.signing import (
    Pairing,
    document_signature,
    pair_signatures,
    unchecked_when_missing,
)
from gateway.analysis.walk import Leaf, Scope, Walk


def analyse(
    message: bytes,
    settings: AnalysisSettings,
    signatures: SignatureChecking | None,
    readings: ReadingCache | None = None,
    *,
    plain_only: bool = False,
    ocr: OcrEngine | None = None,
) -> Analysis:
    """What `message` contains: everything the policies need to know of it besides its
    envelope (documents' readings, or texts, reused from `readings` when read before;
    scans read by `ocr`, a fresh engine when None, within this message's OCR budget).
    With `plain_only`, raises `NotPlainText` as soon as the walk meets anything but text
    (before any extraction)."""
    headers, walk = _walk(message, settings, signatures, plain_only)
    rules = compile_rules(settings.classification)
    classifiers = Classifiers(
        type_table(settings.document_types, settings.untyped_document_type),
        rules,
        settings.limits,
    )
    scans = MessageOcr(ocr or OcrEngine(), OcrBudget.for_message(settings.limits))
    documents, reading_problems = _documents(walk.leaves, classifiers, signatures, readings,
                                             scans)
    message_scan = _message_markings(headers, walk, rules)
    problems = [*rules.problems, *walk.problems, *reading_problems]
    return Analysis.of(
        len(message),
        headers,
        documents,
        message_markings=message_scan.markings,
        problems=tuple(dict.fromkeys(problems)),
        message_signature=walk.message_signature,
    )


def _walk(
    message: bytes, settings: AnalysisSettings, signatures: SignatureChecking | None,
    plain_only: bool = False,
) -> tuple[Headers, Walk]:
    """Parse and walk the message; a tree too deep for the parser is one refused leaf."""
    try:
        parsed: Message | None = parse(message)
    except RecursionError:  # a MIME tree nested deeper than the parser's stack
        parsed = None
    headers = read_headers(parsed if parsed is not None else parse_headers(message))
    walk = Walk(settings.limits, signatures, plain_only=plain_only)
    scope = Scope.of("", headers)
    if parsed is None:
        walk.unparsable(len(message), scope, "MIME structure nested too deeply to be parsed")
    else:
        walk.message(parsed, message, "", 0, scope)
    return headers, walk


def _documents(
    leaves: list[Leaf], classifiers: Classifiers, signatures: SignatureChecking | None,
    readings: ReadingCache | None, scans: MessageOcr,
) -> tuple[tuple[Document, ...], list[str]]:
    pairing = pair_signatures(leaves)
    alone = _single_document_scopes(leaves, pairing)
    documents: list[Document] = []
    problems: list[str] = []
    for index, leaf in enumerate(leaves):
        if index in pairing.consumed:
            continue
        reading = read_leaf(leaf, classifiers, leaf.scope.key in alone, readings, scans)
        signature = document_signature(index, leaf, pairing, signatures, reading.sha256)
        unread = leaf.refused or reading.extraction.uninspectable
        if signatures is not None and unread:
            signature = unchecked_when_missing(signature, unread)
        documents.append(build_document(leaf, reading, signature))
        problems.extend(f"{describe(leaf)}: {p}" for p in reading.extraction.problems)
    return tuple(documents), problems


def _single_document_scopes(leaves: list[Leaf], pairing: Pairing) -> frozenset[str]:
    """Scopes holding exactly one document file: the subject may speak for it."""
    counts = Counter(
        leaf.scope.key
        for index, leaf in enumerate(leaves)
        if index not in pairing.consumed and is_document_file(leaf)
    )
    return frozenset(key for key, count in counts.items() if count == 1)


def _message_markings(headers: Headers, walk: Walk, rules: MarkingRules) -> MarkingScan:
    """Stamps in the subjects and classification headers of the message and nested ones,
    and in the descriptive header fields of every MIME entity (read like a subject)."""
    scan = _header_markings(headers, "", rules)
    for nested in walk.messages:
        scan = scan + _header_markings(nested.headers, f"{nested.path.rstrip('/')} ", rules)
    for path, name, value in walk.descriptions:
        scan = scan + scan_subject(value, f"{path or 'message'} header {name}", rules)
    return scan


def _header_markings(headers: Headers, prefix: str, rules: MarkingRules) -> MarkingScan:
    scan = scan_subject(headers.subject, f"{prefix}subject", rules) if headers.subject else None
    result = scan or MarkingScan()
    for name, value in headers.fields:
        result = result + scan_header(name, value, rules, where_prefix=prefix)
    return result
