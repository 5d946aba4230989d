"""Text of the first pages of a document, within the policy's limits."""

from __future__ import annotations

from gateway.analysis import filetypes
from gateway.analysis.extract.html import html_text
from gateway.analysis.extract.model import Extraction
from gateway.analysis.extract.ocr import MessageOcr
from gateway.analysis.extract.office import docx_text, legacy_word_text, odt_text, ooxml_text
from gateway.analysis.extract.pdf import pdf_text
from gateway.analysis.extract.rtf import rtf_text
from gateway.analysis.legacy import decode_text, repair_text
from gateway.analysis.settings import AnalysisLimits
from gateway.analysis.timelimit import Deadline

__all__ = ["Extraction", "extract_text"]

_OLE_TYPES = frozenset({"application/msword", "application/x-ole-storage", "application/x-msi"})
_ODF_TYPES = frozenset({
    filetypes.ODT, "application/vnd.oasis.opendocument.spreadsheet",
    "application/vnd.oasis.opendocument.presentation",
})  # fmt: skip
_ENCRYPTED_OOXML = "EncryptedPackage".encode("utf-16-le")


def extract_text(
    data: bytes, detected_type: str, charset: str | None, limits: AnalysisLimits,
    deadline: Deadline, ocr: MessageOcr | None = None,
) -> Extraction:
    """The text of `data` (a document of `detected_type`), scans read by `ocr` (see
    `pdf_text`); empty for types without text."""
    if detected_type == filetypes.PDF:
        result = pdf_text(data, limits, deadline, ocr)
    elif detected_type == filetypes.DOCX:
        result = docx_text(data, limits)
    elif detected_type in _ODF_TYPES:
        result = odt_text(data, limits)
    elif detected_type in (filetypes.XLSX, filetypes.PPTX):
        result = ooxml_text(data, limits, "XLSX" if detected_type == filetypes.XLSX else "PPTX")
    elif detected_type in _OLE_TYPES:
        if _ENCRYPTED_OOXML in data:
            return Extraction(uninspectable="encrypted Office document (a password is needed)")
        result = legacy_word_text(data, limits)
    elif detected_type == filetypes.RTF:
        result = rtf_text(data, limits)
    elif detected_type == filetypes.HTML:
        text, _ = decode_text(data[: limits.text_chars * 4], charset)
        return Extraction(html_text(text)[: limits.text_chars])
    elif detected_type.startswith("text/"):
        text, _ = decode_text(data[: limits.text_chars * 4], charset)
        return Extraction(text[: limits.text_chars])
    else:
        return Extraction()
    if not result.text:
        return result
    text, _ = repair_text(result.text)
    return Extraction(text, result.uninspectable, result.problems)
