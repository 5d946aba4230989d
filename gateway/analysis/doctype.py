"""Vietnamese administrative document type (Decree 30/2020/NĐ-CP), with its evidence.

Evidence, strongest first:
1. The printed title, an upper-case line at the head of the document that
   starts with one of a type's `title_keywords` ("GIẤY MỜI", "BÁO CÁO"; also
   typed letter by letter, "G I Ấ Y   M Ờ I"),
   compared without diacritics (so NFD, old tone placement and lost marks
   match). The longest keyword wins ("THÔNG BÁO KẾT LUẬN" over "THÔNG BÁO").
2. The number, "Số: 12/GM-UBND": the type code is the FIRST segment of the
   symbol, and only when an issuer follows it ("GM" in "GM-UBND"; "CT" in
   "45/GM-CT" is the issuer Cục Thuế, not Chỉ thị). Normative legal documents
   carry the year: "77/2014/CT-UBND". A number whose first segment is no
   known type code ("1234/UBND-VP", or "CV-UBND": CV is not an official
   code) is a công văn. A type code, a "V/v" summary line, no title and no
   year also reads as a công văn: only công văn carry "V/v", and issuer codes
   collide with type codes ("1234/CT-TTHT" from the tax department).
   Party documents are numbered "12-NQ/TU" and read the same way.
3. A "V/v …" summary line with no title: công văn.
4. The filename: a number ("12-GM-UBND.pdf") or a title keyword, with or
   without diacritics or spaces ("giay moi hop.pdf", "bao-cao-thang-10.pdf",
   "BaoCao.docx").
5. The subject (only when the caller allows it, for document files that said
   nothing themselves): a number, a title keyword, or a leading "V/v".
The công văn type is the one named by `AnalysisSettings.untyped_document_type`.
Choice for "CT": in "Số: 12/CT-TTHT" the first segment CT is read as the type
code Chỉ thị, unless a "V/v" line without a title shows a công văn (Cục
Thuế's công văn carry "V/v"; a Chỉ thị has a title and no "V/v"); a title,
when printed, always decides.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from enum import StrEnum

from gateway.analysis.settings import DocumentTypeSpec
from gateway.analysis.vietnamese import fold, nfc

OTHER = "other"
HEAD_LINES = 60
HEAD_CHARS = 4000

_NUMBER = re.compile(
    r"(?:(?<![\w])(?:Số|SỐ|So|SO)\s*:\s*|^\s*(?:Số|SỐ)\s+)"
    r"(?P<number>\d*)\s*(?P<sep>[/-])\s*(?:(?P<year>(?:19|20)\d\d)\s*/\s*)?"
    r"(?P<symbol>[A-Za-zĐđÐ][A-Za-zĐđÐ0-9]*(?:\s?[-/]\s?[A-Za-zĐđÐ0-9]+)*)",
    re.MULTILINE,
)
_NUMBER_WORD = re.compile(r"S[ốỐoO]")  # where a match of _NUMBER can hold its "Số"
_VV_LINE = re.compile(r"^\s*V/v\b", re.MULTILINE | re.IGNORECASE)
_SUBJECT_PREFIX = re.compile(r"^(?:\s*(?:re|fw|fwd|tl|tr|chuyển tiếp|trả lời)\s*:\s*)+", re.I)
_FILENAME_NUMBER = re.compile(r"(?<![a-z0-9])\d+ (?:(?:19|20)\d\d )?([a-z]+) [a-z]+")
_FILENAME_SEPARATORS = re.compile(r"[_\-.+()\[\],]+")


@dataclass(frozen=True, slots=True)
class OfficialNumber:
    """A document number as printed: "12/GM-UBND" (type code GM), "1234/UBND-VP" (none)."""

    text: str
    year: str | None
    segments: tuple[str, ...]


class Source(StrEnum):
    """Where a document type was read: the document's own text, or only its name."""

    NONE = ""
    TITLE = "title"
    NUMBER = "number"
    SUMMARY = "summary_line"
    FILENAME = "filename"
    SUBJECT = "subject"

    @property
    def from_content(self) -> bool:
        """Read in the document's text (title, number, V/v line), not from a name."""
        return self in (Source.TITLE, Source.NUMBER, Source.SUMMARY)


@dataclass(frozen=True, slots=True)
class TypeFinding:
    doc_type: str = OTHER
    evidence: str = ""
    official_number: str | None = None
    source: Source = Source.NONE


@dataclass(frozen=True, slots=True)
class TypeTable:
    """The policy's document types, indexed for matching."""

    specs: tuple[DocumentTypeSpec, ...]
    untyped: str | None

    def by_code(self, code: str) -> DocumentTypeSpec | None:
        folded = fold(code)
        return next((s for s in self.specs if folded in {fold(a) for a in s.abbreviations}), None)


def type_table(specs: tuple[DocumentTypeSpec, ...], untyped_id: str) -> TypeTable:
    untyped = untyped_id if any(s.id == untyped_id for s in specs) else None
    return TypeTable(specs, untyped)


def find_official_number(text: str) -> OfficialNumber | None:
    """The first "Số: …" number in the head of `text`."""
    match = _first_number(nfc(text[:HEAD_CHARS]))
    if match is None:
        return None
    symbol = re.sub(r"\s+", "", match.group("symbol"))
    number, year = match.group("number"), match.group("year")
    if match.group("sep") == "-":
        segments = tuple(re.split(r"[/-]", symbol))
        text_form = f"{number}-{symbol}"
    else:
        segments = tuple(symbol.split("-"))
        text_form = f"{number}/{year}/{symbol}" if year else f"{number}/{symbol}"
    return OfficialNumber(text_form, year, segments)


def _first_number(head: str) -> re.Match[str] | None:
    """`_NUMBER.search(head)`, tried only at each "Số" and at its line's start after blanks."""
    for word in _NUMBER_WORD.finditer(head):
        at = word.start()
        line = head.rfind("\n", 0, at) + 1
        match = _NUMBER.match(head, at)
        if match is None and line < at and head[line:at].isspace():
            match = _NUMBER.match(head, line)
        if match is not None:
            return match
    return None


def identify_from_text(text: str, table: TypeTable, *, strict: bool = False) -> TypeFinding:
    """Type from the document's own head: title, number, "V/v" line.

    `strict` (for message bodies) keeps only a title or a number with a type
    code: a body's "V/v" line or untyped number alone does not make it a công văn.
    """
    head = nfc(text[:HEAD_CHARS])
    lines = head.splitlines()[:HEAD_LINES]
    number = find_official_number(head)
    number_text = number.text if number else None
    title = _title_spec(lines, table)
    coded = _coded_spec(number, table)
    has_vv = _VV_LINE.search("\n".join(lines)) is not None
    if title is not None:
        spec, line = title
        return TypeFinding(spec.id, f"title {line!r}" + _number_note(number), number_text,
                           Source.TITLE)
    if coded is not None and number is not None:
        if has_vv and number.year is None and table.untyped:
            return TypeFinding(
                table.untyped,
                f"number {number.text!r} with a V/v line and no title: "
                f"{number.segments[0]!r} read as the issuer",
                number_text,
                Source.NUMBER,
            )
        return TypeFinding(coded.id, f"type code {number.segments[0]!r} in number "
                           f"{number.text!r}", number_text, Source.NUMBER)
    if strict:
        return TypeFinding(official_number=number_text)
    if table.untyped and number is not None:
        return TypeFinding(table.untyped, f"number {number.text!r} without a type code",
                           number_text, Source.NUMBER)
    if table.untyped and has_vv:
        return TypeFinding(table.untyped, "V/v summary line without a title", None,
                           Source.SUMMARY)
    return TypeFinding(official_number=number_text)


def identify_from_filename(filename: str, table: TypeTable) -> TypeFinding:
    stem = filename.rsplit(".", 1)[0] if "." in filename else filename
    folded = " " + fold(_FILENAME_SEPARATORS.sub(" ", stem)) + " "
    found = _coded_in_words(folded, table) or _keyword_in_words(folded, table)
    if found is None:
        return TypeFinding()
    spec, why = found
    return TypeFinding(spec.id, f"filename {filename!r}: {why}", source=Source.FILENAME)


def identify_from_subject(subject: str, table: TypeTable) -> TypeFinding:
    subject = _SUBJECT_PREFIX.sub("", nfc(subject)).strip()
    number = find_official_number(subject)
    coded = _coded_spec(number, table)
    if coded is not None and number is not None:
        return TypeFinding(coded.id, f"subject number {number.text!r}", source=Source.SUBJECT)
    folded = " " + fold(_FILENAME_SEPARATORS.sub(" ", subject)) + " "
    found = _keyword_in_words(folded, table)
    if found is not None:
        return TypeFinding(found[0].id, f"subject {subject!r}: {found[1]}",
                           source=Source.SUBJECT)
    if table.untyped and subject.lower().startswith("v/v"):
        return TypeFinding(table.untyped, f"subject {subject!r} starts with V/v",
                           source=Source.SUBJECT)
    return TypeFinding()


def _title_spec(lines: list[str], table: TypeTable) -> tuple[DocumentTypeSpec, str] | None:
    first_words, longest = _title_first_words(table)
    for line in lines:
        stripped = line.strip()
        spaced = _letter_spaced_title(stripped, table)
        if spaced is not None:
            return spaced, stripped
        head = stripped.split(None, 1)[0] if stripped else ""
        if not head or len(head) > 2 * longest or _folded(head) not in first_words:
            continue
        if not _mostly_upper(stripped):
            continue
        folded = fold(stripped)
        best = _longest_prefix_keyword(folded, table)
        if best is not None:
            return best, stripped
    return None


def _letter_spaced_title(line: str, table: TypeTable) -> DocumentTypeSpec | None:
    """The type of a title typed letter by letter ("G I Ấ Y   M Ờ I", "B Á O  C Á O"):
    an upper-case line of single letters whose letters begin with a keyword's."""
    if len(line) < 7 or line[1] != " ":
        return None
    tokens = line.split()
    if any(len(token) != 1 or not token.isalpha() for token in tokens) \
            or not _mostly_upper(line):
        return None
    letters = "".join(fold(line).split())
    best: tuple[int, DocumentTypeSpec] | None = None
    for spec in table.specs:
        for keyword in spec.title_keywords:
            key = _folded(keyword).replace(" ", "")
            if key and letters.startswith(key) and (best is None or len(key) > best[0]):
                best = (len(key), spec)
    return best[1] if best else None


def _longest_prefix_keyword(folded_line: str, table: TypeTable) -> DocumentTypeSpec | None:
    best: tuple[int, DocumentTypeSpec] | None = None
    for spec in table.specs:
        for keyword in spec.title_keywords:
            key = _folded(keyword)
            longer = best is None or len(key) > best[0]
            if key and longer and _starts_with_words(folded_line, key):
                best = (len(key), spec)
    return best[1] if best else None


@functools.lru_cache(maxsize=64)
def _title_first_words(table: TypeTable) -> tuple[frozenset[str], int]:
    """The first word of every title keyword, folded (a line starting otherwise is no
    title), and the length of the longest."""
    keywords = (_folded(k) for spec in table.specs for k in spec.title_keywords)
    words = frozenset(keyword.split(" ", 1)[0] for keyword in keywords if keyword)
    return words, max((len(word) for word in words), default=0)


@functools.lru_cache(maxsize=4096)
def _folded(text: str) -> str:
    """`fold(text)` of a title keyword or of a line's first word (at most twice the longest
    title word), kept: the same words recur in line after line, message after message."""
    return fold(text)


def _starts_with_words(text: str, prefix: str) -> bool:
    return text == prefix or (text.startswith(prefix) and not text[len(prefix)].isalnum())


def _mostly_upper(line: str) -> bool:
    letters = [ch for ch in line if ch.isalpha()]
    return len(letters) >= 4 and sum(ch.isupper() for ch in letters) >= 0.8 * len(letters)


def _coded_spec(number: OfficialNumber | None, table: TypeTable) -> DocumentTypeSpec | None:
    if number is None or len(number.segments) < 2:
        return None
    return table.by_code(number.segments[0])


def _number_note(number: OfficialNumber | None) -> str:
    return f", number {number.text!r}" if number else ""


def _coded_in_words(folded: str, table: TypeTable) -> tuple[DocumentTypeSpec, str] | None:
    for match in _FILENAME_NUMBER.finditer(folded):
        spec = table.by_code(match.group(1))
        if spec is not None:
            return spec, f"number {match.group(0)!r}"
    return None


def _keyword_in_words(folded: str, table: TypeTable) -> tuple[DocumentTypeSpec, str] | None:
    """The earliest (then longest) title keyword in `folded`, spaced or run together."""
    best: tuple[int, int, DocumentTypeSpec, str] | None = None
    for spec in table.specs:
        for keyword in spec.title_keywords:
            key = _folded(keyword)
            for variant in {key, key.replace(" ", "")}:
                position = folded.find(f" {variant} ") if variant else -1
                if position < 0:
                    continue
                rank = (position, -len(variant))
                if best is None or rank < (best[0], best[1]):
                    best = (position, -len(variant), spec, keyword)
    return (best[2], f"keyword {best[3]!r}") if best else None
