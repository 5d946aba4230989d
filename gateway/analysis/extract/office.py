"""Text of Word (DOCX, and legacy .doc approximately) and OpenDocument files."""

from __future__ import annotations

import io
import re
import zipfile
from xml.etree import ElementTree

from gateway.analysis.archives import ZIP_ERRORS, container_refusal
from gateway.analysis.extract.model import Extraction
from gateway.analysis.settings import AnalysisLimits

_ODF_TEXT = "urn:oasis:names:tc:opendocument:xmlns:text:1.0"
_ODF_BLOCKS = frozenset({f"{{{_ODF_TEXT}}}p", f"{{{_ODF_TEXT}}}h"})
_OOXML_TEXT_PARTS = re.compile(r"^(?:xl/sharedStrings\.xml|ppt/slides/slide\d+\.xml)$")
_OOXML_TEXT_TAGS = frozenset({
    "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}t",
    "{http://schemas.openxmlformats.org/drawingml/2006/main}t",
})  # fmt: skip
_UTF16_RUN = re.compile(rb"(?:[\t\n\r\x20-\x7e\xa0-\xff]\x00|[\x00-\xff][\x01\x1e\x20]){6,}")


def docx_text(data: bytes, limits: AnalysisLimits) -> Extraction:
    """Paragraphs of the header(s) and body, tables included; All Caps runs upper-cased."""
    from docx import Document

    refusal = container_refusal(data, limits)
    if refusal is not None:
        return Extraction(uninspectable=f"DOCX refused: {refusal}")
    try:
        document = Document(io.BytesIO(data))
        lines: list[str] = []
        for section in document.sections:
            lines.extend(_paragraph_text(p) for p in section.header.paragraphs)
        lines.extend(_paragraph_text(p) for p in document.paragraphs)
        for table in document.tables:
            for row in table.rows:
                lines.extend(cell.text for cell in row.cells)
                if sum(map(len, lines)) > limits.text_chars:
                    break
    except Exception as exc:  # a DOCX python-docx cannot open is unreadable input, not a bug
        return Extraction(uninspectable=f"DOCX cannot be read ({exc.__class__.__name__})")
    return Extraction("\n".join(lines)[: limits.text_chars])


def _paragraph_text(paragraph: object) -> str:
    runs = getattr(paragraph, "runs", ())
    text = "".join(run.text.upper() if run.font.all_caps else run.text for run in runs)
    return text or str(getattr(paragraph, "text", ""))


def odt_text(data: bytes, limits: AnalysisLimits) -> Extraction:
    """Paragraphs and headings of content.xml (no DTD accepted, so no entity expansion)."""
    refusal = container_refusal(data, limits)
    if refusal is not None:
        return Extraction(uninspectable=f"ODT refused: {refusal}")
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            content = archive.read("content.xml")
        if b"<!DOCTYPE" in content or b"<!ENTITY" in content:
            return Extraction(uninspectable="ODT content declares a DTD (refused)")
        root = ElementTree.fromstring(content)
    except (*ZIP_ERRORS, ElementTree.ParseError) as exc:
        return Extraction(uninspectable=f"ODT cannot be read ({exc.__class__.__name__})")
    lines = ["".join(element.itertext()) for element in root.iter() if element.tag in _ODF_BLOCKS]
    return Extraction("\n".join(lines)[: limits.text_chars])


def ooxml_text(data: bytes, limits: AnalysisLimits, what: str) -> Extraction:
    """Text runs of a spreadsheet's shared strings or of a presentation's slides, in order."""
    refusal = container_refusal(data, limits)
    if refusal is not None:
        return Extraction(uninspectable=f"{what} refused: {refusal}")
    lines: list[str] = []
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            for name in sorted(archive.namelist(), key=_natural):
                if not _OOXML_TEXT_PARTS.match(name):
                    continue
                content = archive.read(name)
                if b"<!DOCTYPE" in content or b"<!ENTITY" in content:
                    return Extraction(uninspectable=f"{what} part declares a DTD (refused)")
                root = ElementTree.fromstring(content)
                lines.extend(e.text or "" for e in root.iter() if e.tag in _OOXML_TEXT_TAGS)
                if sum(map(len, lines)) > limits.text_chars:
                    break
    except (*ZIP_ERRORS, ElementTree.ParseError) as exc:
        return Extraction(uninspectable=f"{what} cannot be read ({exc.__class__.__name__})")
    return Extraction("\n".join(line for line in lines if line)[: limits.text_chars])


def _natural(name: str) -> tuple[str, int]:
    match = re.search(r"(\d+)\.xml$", name)
    return (name[: match.start()], int(match.group(1))) if match else (name, 0)


def legacy_word_text(data: bytes, limits: AnalysisLimits) -> Extraction:
    """Approximate text of a Word 97-2003 file: its UTF-16 runs (where Vietnamese text lives)."""
    runs = (match.group(0).decode("utf-16-le", "replace") for match in _UTF16_RUN.finditer(data))
    text = "\n".join(run.replace("\r", "\n") for run in runs)
    return Extraction(text[: limits.text_chars], problems=("legacy Word text read approximately",))
