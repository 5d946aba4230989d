"""Embedded PDF signatures (PAdES / adbe.pkcs7.detached) validated with pyHanko."""

from __future__ import annotations

import contextlib
import io
from dataclasses import dataclass, replace

from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.diff_analysis import ModificationLevel
from pyhanko.sign.fields import SigSeedSubFilter, enumerate_sig_fields
from pyhanko.sign.validation import async_validate_pdf_signature, async_validate_pdf_timestamp
from pyhanko.sign.validation.pdf_embedded import EmbeddedPdfSignature
from pyhanko.sign.validation.status import (
    DocumentTimestampStatus,
    PdfSignatureStatus,
    SignatureCoverageLevel,
)

from gateway.signatures.chaindates import dated
from gateway.signatures.combine import combine
from gateway.signatures.context import Checking
from gateway.signatures.diffpolicy import DIFF_POLICY
from gateway.signatures.hexstrings import install as install_hex_reader
from gateway.signatures.identity import signer_of
from gateway.signatures.model import (
    SignatureKind,
    SignatureResult,
    SignatureStatus,
    SignatureVerdict,
)
from gateway.signatures.outcome import (
    cms_outcome,
    failed,
    integrity,
    policy_notes,
    token_outcome,
)
from gateway.signatures.timing import validation_time

SIGNATURE_SUBFILTERS = frozenset(
    str(sub.value)
    for sub in (
        SigSeedSubFilter.ADOBE_PKCS7_DETACHED,
        SigSeedSubFilter.PADES,
        SigSeedSubFilter.PBAD_PADES,
    )
)
TIMESTAMP_SUBFILTERS = frozenset({str(SigSeedSubFilter.ETSI_RFC3161.value)})
BYTE_RANGE = b"/ByteRange"
SIGNATURE_MARKERS = (BYTE_RANGE, b"/adbe.pkcs7", b"/ETSI.CAdES", b"/ETSI.RFC3161")
WHITESPACE = b" \t\r\n\x00\x0c"
EOF_MARKER = b"%%EOF"
Status = PdfSignatureStatus | DocumentTimestampStatus

install_hex_reader()  # pyHanko would read each /Contents one hex digit at a time


@dataclass(frozen=True, slots=True)
class PdfFile:
    """The PDF up to its last %%EOF line (what the parser reads) and what follows it."""

    data: bytes
    trailing: bytes

    @classmethod
    def split(cls, data: bytes) -> PdfFile:
        end = data.rfind(EOF_MARKER)
        if end < 0:
            return cls(data, b"")
        end += len(EOF_MARKER)
        tail = data[end:]
        eol = len(tail) - len(tail.lstrip(b"\r\n"))
        return cls(data[: end + eol], tail[eol:])

    @property
    def garbage(self) -> int:
        """Size of non-blank data after the last %%EOF, which no revision accounts for."""
        return len(self.trailing) if self.trailing.strip(WHITESPACE) else 0


@dataclass(frozen=True, slots=True)
class Extent:
    """What follows a signature's signed range in the file as received.

    `data[:len(data) - len(after)]` are the bytes the signature covers (with
    the revisions before it): what classifiers should read.
    """

    later_revisions: int
    after: bytes

    @classmethod
    def of(cls, emb: EmbeddedPdfSignature, data: bytes) -> Extent:
        later = emb.reader.xrefs.total_revisions - 1 - emb.signed_revision
        signed_end = int(emb.byte_range[2]) + int(emb.byte_range[3])
        return cls(later, data[signed_end:])

    @property
    def stray(self) -> bool:
        """Non-blank bytes after a signature in the last revision: not a revision at all."""
        return self.later_revisions == 0 and bool(self.after.strip(WHITESPACE))


def _modification_problem(status: Status, extent: Extent) -> str:
    level = status.modification_level
    if status.coverage == SignatureCoverageLevel.ENTIRE_FILE:
        return ""
    if status.coverage != SignatureCoverageLevel.ENTIRE_REVISION:
        return "the signature does not cover its whole revision"
    if status.docmdp_ok is False or level in (None, ModificationLevel.OTHER):
        name = level.name.lower() if level else "unknown"
        unpermitted = (
            " (more than the signature's DocMDP permission allows)"
            if level not in (None, ModificationLevel.OTHER) else ""
        )
        return (
            f"changed after signing: {extent.later_revisions} later revision(s), "
            f"{len(extent.after)} bytes, judged '{name}' by difference analysis{unpermitted}"
        )
    if extent.stray:
        return f"{len(extent.after)} bytes after the signed revision that are not a PDF revision"
    return ""


def _base_result(
    emb: EmbeddedPdfSignature, status: Status, extent: Extent, checking: Checking
) -> SignatureResult:
    level = status.modification_level
    return SignatureResult(
        kind=SignatureKind.PDF,
        status=SignatureStatus.VALID,
        signer=signer_of(status.signing_cert),
        coverage=status.coverage.name.lower() if status.coverage else "unknown",
        field_name=emb.field_name,
        later_revisions=extent.later_revisions,
        appended_bytes=len(extent.after),
        modification=level.name.lower() if level else "unknown",
        digest_algorithm=status.md_algorithm,
        notes=policy_notes(status, checking),
    )


async def _validate_signature(
    emb: EmbeddedPdfSignature, data: bytes, checking: Checking
) -> SignatureResult:
    settings = checking.settings
    when = validation_time(emb.signer_info, emb.self_reported_timestamp, checking.now, settings)
    status = await async_validate_pdf_signature(
        emb,
        signer_validation_context=checking.context(when.moment, past=when.past),
        ts_validation_context=checking.context(checking.now, past=False),
        key_usage_settings=checking.key_usage,
        diff_policy=DIFF_POLICY,
        skip_diff=False,
    )
    extent = Extent.of(emb, data)
    timestamp = status.timestamp_validity
    result = replace(
        _base_result(emb, status, extent, checking),
        signing_time=timestamp.timestamp if timestamp is not None else status.signer_reported_dt,
        timestamped=timestamp is not None and timestamp.trusted,
        validation_time=when.moment,
        time_source=when.source,
    )
    broken = integrity(status)
    if broken:
        return replace(result, status=broken[0], detail=broken[1])
    modified = _modification_problem(status, extent)
    if modified:
        return replace(result, status=SignatureStatus.MODIFIED, detail=modified)
    outcome, detail = await dated(
        cms_outcome(status, settings), status.signing_cert, emb.signed_data, checking,
        when.moment, status.validation_path,
    )
    return replace(result, status=outcome, detail=detail)


async def _validate_timestamp(
    emb: EmbeddedPdfSignature, data: bytes, checking: Checking
) -> SignatureResult:
    context = checking.context(checking.now, past=False)
    status = await async_validate_pdf_timestamp(
        emb, validation_context=context, diff_policy=DIFF_POLICY, skip_diff=False
    )
    extent = Extent.of(emb, data)
    result = replace(
        _base_result(emb, status, extent, checking),
        signing_time=status.timestamp,
        timestamped=True,
        document_timestamp=True,
        validation_time=checking.now,
        time_source="now",
    )
    broken = integrity(status, "document timestamp")
    if broken:
        return replace(result, status=broken[0], detail=broken[1])
    modified = _modification_problem(status, extent)
    if modified:
        return replace(result, status=SignatureStatus.MODIFIED, detail=modified)
    outcome, detail = token_outcome(status, "document timestamp", checking.settings)
    return replace(result, status=outcome, detail=detail)


def _unsupported(name: str, subfilter: object) -> SignatureResult:
    return SignatureResult(
        kind=SignatureKind.PDF,
        status=SignatureStatus.UNKNOWN,
        field_name=name,
        detail=f"signature with unsupported SubFilter {subfilter} could not be checked",
    )


async def _check_field(
    reader: PdfFileReader,
    data: bytes,
    name: str,
    value: generic.PdfObject,
    field: generic.PdfObject,
    checking: Checking,
) -> SignatureResult:
    """One filled signature field; anything that raises makes it `invalid`."""
    try:
        sig_object = value.get_object()  # type: ignore[no-untyped-call]
        if not isinstance(sig_object, generic.DictionaryObject):
            raise ValueError("signature value is not a dictionary")
        is_timestamp = sig_object.get("/Type") == "/DocTimeStamp"
        subfilter = str(sig_object.get("/SubFilter"))
        if subfilter not in (TIMESTAMP_SUBFILTERS if is_timestamp else SIGNATURE_SUBFILTERS):
            return _unsupported(name, subfilter)
        field_object = field.get_object()  # type: ignore[no-untyped-call]
        emb = EmbeddedPdfSignature(reader, field_object, name)
        checking.depends_on(emb.signed_data, emb.self_reported_timestamp)
        validate = _validate_timestamp if is_timestamp else _validate_signature
        return await validate(emb, data, checking)
    except Exception as exc:  # fail closed: the validator raising is a finding, not an error
        return failed(SignatureKind.PDF, exc, name)


def _hybrid(result: SignatureResult) -> SignatureResult:
    """A hybrid-reference file (xref table and /XRefStm stream) can show different
    content to different readers: broken bytes stay `invalid`, anything else is
    `unknown`, a structure the gateway declines to judge, never `valid`."""
    if result.status == SignatureStatus.INVALID:
        return result
    found = f"{result.status.value}{': ' + result.detail if result.detail else ''}"
    detail = (
        "hybrid-reference PDF (cross-reference table and stream): the signed bytes are "
        f"intact but the gateway does not judge such files (lenient reading: {found})"
    )
    return replace(result, status=SignatureStatus.UNKNOWN, detail=detail)


def _appended(result: SignatureResult, size: int) -> SignatureResult:
    if result.status == SignatureStatus.INVALID:
        return result
    detail = f"{size} bytes appended after the last PDF revision (%%EOF)"
    appended = max(result.appended_bytes, size)
    return replace(result, status=SignatureStatus.MODIFIED, detail=detail, appended_bytes=appended)


def _unreadable(data: bytes, error: Exception) -> SignatureVerdict:
    """A PDF the parser rejects: `invalid` if it looks signed, else `missing`."""
    if any(marker in data for marker in SIGNATURE_MARKERS):
        result = failed(SignatureKind.PDF, error)
        detail = "unreadable PDF with signature markers"
        return SignatureVerdict(SignatureStatus.INVALID, (result,), "own", detail)
    return SignatureVerdict(detail=f"not a readable PDF: {type(error).__name__}: {error}")


def _signed_revision(reader: PdfFileReader) -> int | None:
    """The latest earlier revision (0-based) with a filled signature field, if any."""
    for revision in range(reader.xrefs.total_revisions - 2, -1, -1):
        with contextlib.suppress(Exception):  # an old revision pyHanko cannot read is none
            past = reader.get_historical_resolver(revision)
            if any(True for _ in enumerate_sig_fields(past, filled_status=True)):
                return revision
    return None


def _unlinked(reader: PdfFileReader) -> SignatureResult:
    """A signature dictionary that no field of the last revision fills: `modified` when an
    earlier revision was signed (a later one took the field away), else `unknown`."""
    revision = _signed_revision(reader)
    if revision is not None:
        detail = (f"revision {revision + 1} was signed; a later revision removed its "
                  "signature field")
        return SignatureResult(SignatureKind.PDF, SignatureStatus.MODIFIED, detail=detail)
    detail = "signature dictionary (/ByteRange) present but no filled signature field"
    return SignatureResult(SignatureKind.PDF, SignatureStatus.UNKNOWN, detail=detail)


async def check_pdf(data: bytes, checking: Checking) -> SignatureVerdict:
    """Every filled /Sig field of the PDF, each checked, combined by the multi-signature rule."""
    pdf = PdfFile.split(data)
    try:
        reader = PdfFileReader(io.BytesIO(pdf.data))
        hybrid = reader.xrefs.hybrid_xrefs_present
        if hybrid:  # pyHanko refuses these when strict; read leniently, judge below
            reader = PdfFileReader(io.BytesIO(pdf.data), strict=False)
        fields = list(enumerate_sig_fields(reader, filled_status=True))
    except Exception as exc:  # fail closed, see _unreadable
        return _unreadable(data, exc)
    results = [
        await _check_field(reader, data, name, value, field, checking)
        for name, value, field in fields
    ]
    if hybrid:
        results = [_hybrid(result) for result in results]
    if not results and BYTE_RANGE in data:
        results = [_unlinked(reader)]
    if pdf.garbage:
        results = [_appended(result, pdf.garbage) for result in results]
    return combine(results, checking.settings)
