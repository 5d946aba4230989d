"""Text of every text-bearing part of Office Open XML (DOCX, XLSX, PPTX) and OpenDocument
(ODT, ODS, ODP) packages, and approximately of legacy Word files.

Read, per format:
- DOCX: headers, body (tables and text boxes, VML and DrawingML, included), footers,
  footnotes, endnotes, comments; runs formatted All Caps are upper-cased.
- XLSX: shared strings, inline strings of each sheet, sheet headers and footers,
  cell comments, text boxes and shapes of drawings.
- PPTX: every slide, its notes, comments.
- ODF: content.xml (paragraphs, headings, frames, tables, notes, annotations) and
  styles.xml (page headers and footers).
Strict Open XML packages (ISO/IEC 29500 Strict namespaces) are read as Transitional ones.
Each paragraph is one line; text of a paragraph nested inside another (a text box
inside a body paragraph) is its own line, never run into its host. Parts are read
inside the container limits of `container_refusal`; XML declaring a DTD is refused
(no entity expansion); reading stops at `text_chars`.
"""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from xml.etree import ElementTree
from xml.etree.ElementTree import Element

from gateway.analysis.archives import ZIP_ERRORS, container_refusal
from gateway.analysis.extract.model import Extraction
from gateway.analysis.settings import AnalysisLimits

_W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
_A = "{http://schemas.openxmlformats.org/drawingml/2006/main}"
_S = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
_P = "{http://schemas.openxmlformats.org/presentationml/2006/main}"
_TEXT = "{urn:oasis:names:tc:opendocument:xmlns:text:1.0}"
_OFF = frozenset({"0", "false", "off"})
#: Strict Open XML (ISO/IEC 29500 Strict, a "Save As" choice of Word, Excel and PowerPoint)
#: names the same vocabularies otherwise; its parts are read as the Transitional ones.
_STRICT_NAMESPACES = tuple(
    (f"http://purl.oclc.org/ooxml/{strict}".encode(), transitional[1:-1].encode())
    for strict, transitional in (
        ("wordprocessingml/main", _W), ("drawingml/main", _A), ("spreadsheetml/main", _S),
        ("presentationml/main", _P),
    )
)
_UTF16_RUN = re.compile(rb"(?:[\t\n\r\x20-\x7e\xa0-\xff]\x00|[\x00-\xff][\x01\x1e\x20]){6,}")


@dataclass(frozen=True, slots=True)
class _Layout:
    """Where a format keeps its text: the parts (in reading order) and the XML tags."""

    what: str
    parts: tuple[re.Pattern[str], ...]
    blocks: frozenset[str]
    texts: frozenset[str]
    breaks: frozenset[str] = frozenset()
    caps: Callable[[Element], bool] | None = None
    clean: Callable[[str], str] | None = None


def _word_caps(run: Element) -> bool:
    caps = run.find(f"{_W}rPr/{_W}caps")
    return caps is not None and caps.get(f"{_W}val", "true").lower() not in _OFF


_DOCX = _Layout(
    "DOCX",
    tuple(re.compile(p) for p in (
        r"word/header\d*\.xml", r"word/document\.xml", r"word/footer\d*\.xml",
        r"word/footnotes\.xml", r"word/endnotes\.xml", r"word/comments\.xml",
    )),
    frozenset({f"{_W}p"}), frozenset({f"{_W}t"}), frozenset({f"{_W}tab", f"{_W}br"}),
    _word_caps,
)  # fmt: skip
_SHEET_CODES = re.compile(r'&(?:"[^"]*"|\d+|[A-Za-z&])')
_XLSX = _Layout(
    "XLSX",
    tuple(re.compile(p) for p in (
        r"xl/sharedStrings\.xml", r"xl/worksheets/sheet\d+\.xml", r"xl/comments\d+\.xml",
        r"xl/drawings/drawing\d+\.xml",
    )),
    frozenset({f"{_S}si", f"{_S}is", f"{_S}text", f"{_A}p", f"{_S}headerFooter"}),
    frozenset({f"{_S}t", f"{_A}t", *(
        f"{_S}{kind}{place}" for kind in ("odd", "even", "first") for place in ("Header", "Footer")
    )}),
    clean=lambda line: _SHEET_CODES.sub("\n", line),  # "&C&\"Arial,Bold\"MẬT" -> "MẬT"
)  # fmt: skip
_PPTX = _Layout(
    "PPTX",
    tuple(re.compile(p) for p in (
        r"ppt/slides/slide\d+\.xml", r"ppt/notesSlides/notesSlide\d+\.xml",
        r"ppt/comments/comment\d+\.xml",
    )),
    frozenset({f"{_A}p", f"{_P}text"}), frozenset({f"{_A}t", f"{_P}text"}),
    frozenset({f"{_A}br"}),
)  # fmt: skip
_ODF = _Layout(
    "ODF",
    (re.compile(r"content\.xml"), re.compile(r"styles\.xml")),
    frozenset({f"{_TEXT}p", f"{_TEXT}h"}), frozenset(),
    frozenset({f"{_TEXT}s", f"{_TEXT}tab", f"{_TEXT}line-break"}),
)  # fmt: skip


def docx_text(data: bytes, limits: AnalysisLimits) -> Extraction:
    """Every paragraph of a Word document, wherever it stands (see the module's list)."""
    return _package_text(data, limits, _DOCX)


def odt_text(data: bytes, limits: AnalysisLimits) -> Extraction:
    """Every paragraph and heading of an OpenDocument text, spreadsheet or presentation."""
    return _package_text(data, limits, _ODF)


def ooxml_text(data: bytes, limits: AnalysisLimits, what: str) -> Extraction:
    """The text of a spreadsheet ("XLSX") or a presentation ("PPTX")."""
    return _package_text(data, limits, _XLSX if what == "XLSX" else _PPTX)


def _package_text(data: bytes, limits: AnalysisLimits, layout: _Layout) -> Extraction:
    refusal = container_refusal(data, limits)
    if refusal is not None:
        return Extraction(uninspectable=f"{layout.what} refused: {refusal}")
    lines: list[str] = []
    length = 0
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            for name in _ordered_parts(archive.namelist(), layout):
                content = _transitional(archive.read(name))
                if b"<!DOCTYPE" in content or b"<!ENTITY" in content:
                    return Extraction(uninspectable=f"{layout.what} part declares a DTD (refused)")
                for line in _paragraphs(ElementTree.fromstring(content), layout):
                    lines.append(line)
                    length += len(line) + 1
                if length > limits.text_chars:
                    break
    except (*ZIP_ERRORS, ElementTree.ParseError) as exc:
        return Extraction(uninspectable=f"{layout.what} cannot be read ({exc.__class__.__name__})")
    return Extraction("\n".join(line for line in lines if line.strip())[: limits.text_chars])


def _transitional(content: bytes) -> bytes:
    for strict, transitional in _STRICT_NAMESPACES:
        content = content.replace(strict, transitional)
    return content


def _ordered_parts(names: list[str], layout: _Layout) -> list[str]:
    """The text-bearing parts, in the layout's order and numerically within a kind."""
    ordered: list[str] = []
    for pattern in layout.parts:
        ordered.extend(sorted((n for n in names if pattern.fullmatch(n)), key=_natural))
    return ordered


def _natural(name: str) -> tuple[str, int]:
    match = re.search(r"(\d+)\.xml$", name)
    return (name[: match.start()], int(match.group(1))) if match else (name, 0)


def _paragraphs(root: Element, layout: _Layout) -> Iterator[str]:
    """One line per block element, its nested blocks excluded (they are lines of their own)."""
    for element in root.iter():
        if element.tag in layout.blocks:
            line = "".join(_inline(element, layout, upper=False)).replace("\r", "")
            yield layout.clean(line) if layout.clean is not None else line


def _inline(element: Element, layout: _Layout, *, upper: bool) -> Iterator[str]:
    if not layout.texts and element.text:  # ODF: text is mixed content of the paragraph
        yield element.text.upper() if upper else element.text
    for child in element:
        if child.tag in layout.blocks:
            pass
        elif child.tag in layout.texts:
            text = "".join(child.itertext())
            yield text.upper() if upper else text
        elif child.tag in layout.breaks:
            yield _break(child)
        else:
            caps = upper or (layout.caps is not None and layout.caps(child))
            yield from _inline(child, layout, upper=caps)
        if not layout.texts and child.tail:
            yield child.tail.upper() if upper else child.tail


def _break(element: Element) -> str:
    """A tab, a line break, or ODF's `text:s` (c spaces)."""
    if element.tag == f"{_TEXT}s":
        return " " * min(int(element.get(f"{_TEXT}c", "1") or 1), 100)
    return "\t" if element.tag.endswith("tab") else "\n"


def legacy_word_text(data: bytes, limits: AnalysisLimits) -> Extraction:
    """Approximate text of a Word 97-2003 file: its UTF-16 runs (where Vietnamese text lives)."""
    runs = (match.group(0).decode("utf-16-le", "replace") for match in _UTF16_RUN.finditer(data))
    text = "\n".join(run.replace("\r", "\n") for run in runs)
    return Extraction(text[: limits.text_chars], problems=("legacy Word text read approximately",))
