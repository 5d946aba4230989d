"""Classification stamps (độ mật) in subjects, headers, filenames and text.

Detection rules (copy them into policy comments as they are):

1. Degrees. "MẬT" -> mat, "TỐI MẬT" -> toi_mat, "TUYỆT MẬT" -> tuyet_mat. The
   highest degree found anywhere in a message is the message's degree.
2. A stamp is upper-case, as printed by the stamp (Decree 26/2020/NĐ-CP):
   "mật", "bí mật", "tối mật" in an ordinary lower-case sentence are never
   stamps ("mật khẩu", "thân mật", "không gửi tài liệu tối mật qua thư").
3. A stamp stands alone: the words right next to it on the same line (only
   spaces between; a tab or three spaces is a column gap, not a neighbour)
   must not be upper-case words, because then the mark is part of an
   upper-case phrase ("MẬT ONG HUẾ", "MẬT ĐỘ DÂN SỐ", "BẢO MẬT THÔNG TIN",
   "BÍ MẬT NHÀ NƯỚC", "TÀI LIỆU TỐI MẬT" in a warning sentence). Nor may they
   be, in any case, a word that forms a compound with "mật": before it bí,
   bảo, thân, cơ, độ; after it độ, khẩu, thiết, ong, mã, thám, báo, danh,
   đàm, ước, ngữ, lệnh, hiệu, thư, hoa, gấu, mía, vụ, phục, tấu, ngọt.
   Punctuation, brackets, numbers and codes are not words: "[MẬT] Báo cáo",
   "(TỐI MẬT)", "MẬT - Kế hoạch", "MẬT: ..." are stamps. "TỐI MẬT" and
   "TUYỆT MẬT" have no other meaning, so only the word before them counts.
   The urgency marks (KHẨN, THƯỢNG KHẨN, HỎA TỐC, HỎA TỐC HẸN GIỜ, with or
   without diacritics) are no such words: they stand beside the security mark
   on a document ("KHẨN TỐI MẬT: Kế hoạch", "MẬT HỎA TỐC").
4. Without diacritics (typed on a keyboard without Vietnamese input, or a
   PDF font that lost them) only in upper-case brackets ("[MAT]",
   "(TOI MAT)"), alone on an upper-case line, or upper-case "TOI MAT" /
   "TUYET MAT" under rule 3. Bare "MAT" in running text is too common in
   other languages to count.
5. A line (or a subject, or a bracket) that holds nothing but the stamp with
   its diacritics counts in any case ("Tối mật", "[Mật] Báo cáo"), but a
   stamp that is not upper-case counts only where its layout is a stamp's:
   its own line among the first lines of the text (a subject, a filename, the
   head of a document) or within two lines of the number block ("Số: …"),
   reply prefixes and bracketed tags before it set aside ("Fwd: Tối mật"), and
   a bracket at the start of a line, after reply prefixes and other
   bracketed tags ("Fwd: [KHẨN] (Mật) …"). The tail of a wrapped sentence is
   never a stamp: "(trừ văn bản mật)." wrapped so that "mật)." starts a line,
   or "mật." after a line that ends inside a sentence. An upper-case line of
   the stamp's letters spaced out ("M Ậ T") counts anywhere.
6. "Độ mật: <degree>" (the field of document-management exports) gives that
   degree; "Độ mật: Thường" gives none. A column gap (a tab or three spaces)
   separates them as well as the colon: a table row copied as text.
7. "GIẢI MẬT" (declassified) never classifies; it sets `declassified`. Any
   other degree stamp on the same document still counts (the old stamp stays
   visible on a declassified paper; the policy decides).
8. Companion stamps of secret documents, "TÀI LIỆU THU HỒI" (to be returned)
   and "CHỈ NGƯỜI CÓ TÊN MỚI ĐƯỢC BÓC BÌ" (only the named person may open),
   upper-case and alone on their line or in brackets, are reported as
   markings of degree mat: they exist only on secret documents, whose own
   degree is at least MẬT (a higher degree stamp, when present, wins).
9. Header fields named in the policy (X-Classification, X-Do-Mat, …): the
   whole value, in any case, with or without diacritics, "mat", "toi_mat",
   "tuyet_mat", "Tối mật", "TUYET MAT" …; "giai_mat"/"Giải mật" declassifies.
10. Administrators add regular expressions per degree (`extra_patterns`),
   searched in every place above (NFC text, multi-line mode, case as written;
   use "(?i)" for case-insensitive), and `ignore_patterns` whose matches are
   blanked out before rules 2-8 look (a known false alarm).
Text is NFC-normalised first, so NFD input and old/new tone placement match;
invisible characters (zero-width, soft hyphen, BOM …) are removed and letters
of other scripts that look like Latin ones (Cyrillic "М", Greek "Τ" …) are
read as those (`gateway.analysis.skeleton`), everywhere a stamp is looked for.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from gateway.analysis.model import Classification, Marking, highest_classification
from gateway.analysis.settings import ClassificationSpec
from gateway.analysis.skeleton import stamp_text
from gateway.analysis.stamplines import BRACKETED, COMPANIONS, stamp_lines
from gateway.analysis.vietnamese import fold, is_upper_word

DECLASSIFIED = "GIẢI MẬT"

_DEGREES = {
    "TUYỆT MẬT": Classification.TUYET_MAT,
    "TỐI MẬT": Classification.TOI_MAT,
    "MẬT": Classification.MAT,
    "TUYET MAT": Classification.TUYET_MAT,
    "TOI MAT": Classification.TOI_MAT,
    "MAT": Classification.MAT,
}
FOLDED_DEGREES = {
    "mat": Classification.MAT,
    "toi mat": Classification.TOI_MAT,
    "tuyet mat": Classification.TUYET_MAT,
}
_SPACED_STAMPS = {"MẬT": "MẬT", "TỐIMẬT": "TỐI MẬT", "TUYỆTMẬT": "TUYỆT MẬT", "GIẢIMẬT": "GIẢI MẬT"}
_COMPOUND_BEFORE = frozenset({"bi", "bao", "than", "co", "do"})
_COMPOUND_AFTER = frozenset({
    "do", "khau", "thiet", "ong", "ma", "tham", "bao", "danh", "dam", "uoc", "ngu",
    "lenh", "hieu", "thu", "hoa", "gau", "mia", "vu", "phuc", "tau", "ngot",
})  # fmt: skip
_URGENCY = frozenset({
    "KHẨN", "THƯỢNG KHẨN", "HỎA TỐC", "HOẢ TỐC", "HỎA TỐC HẸN GIỜ", "HOẢ TỐC HẸN GIỜ",
    "KHAN", "THUONG KHAN", "HOA TOC", "HOA TOC HEN GIO",
})  # fmt: skip
_SPACE = r"[ \u00a0]+"
STAMP = re.compile(r"(?<!\w)(GIẢI|TUYỆT|TỐI|TUYET|TOI)?(?(1)" + _SPACE + r")(MẬT|MAT)(?!\w)")
_DEGREE_FIELD = re.compile(r"(?i)(?<!\w)độ mật(?:\s*:| *(?:\t| {3,}))\s*([^\n\t,;.]{1,20})")
_GAP = re.compile(r"\t| {3,}")
_PREFIXES = re.compile(
    r"(?i)(?:\s*(?:re|fwd?|tl|tr|aw|sv|vv|v/v)\s*:|\s*\[[^\[\]]*\]|\s*\([^()]*\))*\s*"
)
EDGE_PUNCT = " \t\u00a0[](){}<>*\"'“”:;,.-–—_|!"


@dataclass(frozen=True, slots=True)
class MarkingScan:
    """What one place yielded: stamps found, and whether it was declassified."""

    markings: tuple[Marking, ...] = ()
    declassified: bool = False

    @property
    def level(self) -> Classification | None:
        return highest_classification([m.level for m in self.markings])

    def __add__(self, other: MarkingScan) -> MarkingScan:
        return MarkingScan(self.markings + other.markings, self.declassified or other.declassified)


@dataclass(frozen=True, slots=True)
class MarkingRules:
    """The compiled detector for one policy."""

    extra: tuple[tuple[Classification, re.Pattern[str]], ...] = ()
    headers: tuple[str, ...] = ()
    problems: tuple[str, ...] = field(default=())
    ignore: tuple[re.Pattern[str], ...] = ()

    def blank_ignored(self, text: str) -> str:
        """`text` with the matches of the ignore patterns replaced by spaces."""
        for pattern in self.ignore:
            text = pattern.sub(lambda match: " " * len(match.group(0)), text)
        return text


def compile_rules(spec: ClassificationSpec) -> MarkingRules:
    """Compile the administrators' extra patterns; bad ones become problems, never errors."""
    extra: list[tuple[Classification, re.Pattern[str]]] = []
    problems: list[str] = []
    for key, patterns in spec.extra_patterns.items():
        try:
            level = Classification(key)
        except ValueError:
            problems.append(f"extra classification pattern for unknown degree {key!r}")
            continue
        for pattern in patterns:
            try:
                extra.append((level, re.compile(pattern, re.MULTILINE)))
            except re.error as error:
                problems.append(f"bad classification pattern {pattern!r}: {error}")
    ignore: list[re.Pattern[str]] = []
    for pattern in spec.ignore_patterns:
        try:
            ignore.append(re.compile(pattern, re.MULTILINE))
        except re.error as error:
            problems.append(f"bad classification ignore pattern {pattern!r}: {error}")
    headers = tuple(h.lower() for h in spec.headers)
    return MarkingRules(tuple(extra), headers, tuple(problems), tuple(ignore))


def scan_text(text: str, where: str, rules: MarkingRules) -> MarkingScan:
    """Stamps in document or body text (rules 2-8, 10)."""
    normal = stamp_text(text)
    return _scan(normal, normal, where, rules)


def scan_subject(subject: str, where: str, rules: MarkingRules) -> MarkingScan:
    """Stamps in a subject line: the text rules on one line."""
    return scan_text(" ".join(subject.splitlines()), where, rules)


def scan_filename(filename: str, where: str, rules: MarkingRules) -> MarkingScan:
    """Stamps in a filename: separators (_ - . +) read as spaces."""
    stem = filename.rsplit(".", 1)[0] if "." in filename else filename
    spaced = re.sub(r"[_.+]|(?<=\w)-|-(?=\w)", " ", stamp_text(stem))
    return _scan(spaced, stamp_text(filename), where, rules)


def scan_header(name: str, value: str, rules: MarkingRules, where_prefix: str = "") -> MarkingScan:
    """A classification header's value (rule 9) when `name` is one the policy lists."""
    if name.lower() not in rules.headers:
        return MarkingScan()
    where = f"{where_prefix}header {name}"
    value = stamp_text(value)
    folded = fold(re.sub(r"[_\-\[\]()]", " ", value)).strip(" .:")
    if folded == "giai mat":
        return MarkingScan((Marking(None, DECLASSIFIED, where, value.strip()),), True)
    level = FOLDED_DEGREES.get(folded)
    found = [Marking(level, value.strip(), where, value.strip())] if level else []
    found.extend(_scan_extra(value, where, rules))
    return _result(found)


def _scan(text: str, original: str, where: str, rules: MarkingRules) -> MarkingScan:
    text = rules.blank_ignored(text)
    found = [m for line, lower in stamp_lines(text) for m in _scan_line(line, where, lower)]
    found.extend(_scan_extra(original, where, rules))
    return _result(found)


def _scan_line(line: str, where: str, lower: bool) -> Iterator[Marking]:
    stripped = _unprefixed(line).strip(EDGE_PUNCT)
    whole = _whole_line_stamp(stripped, lower)
    if whole is not None:
        yield _marking(whole, where, line)
        return
    yield from _stamps_in_line(line, where)
    yield from _bracketed(line, where)
    yield from _degree_field(line, where)
    yield from _companions(line, where)


def _unprefixed(line: str) -> str:
    """The line after its reply prefixes and bracketed tags ("Fwd: [KHẨN] Tối mật" -> "Tối
    mật"); the line itself when they are all it holds ("(Tối mật)")."""
    prefixes = _PREFIXES.match(line)
    rest = line[prefixes.end():] if prefixes else line
    return rest if rest.strip(EDGE_PUNCT) else line


def _whole_line_stamp(stripped: str, lower: bool) -> str | None:
    """Rule 5: the line is only a stamp (upper-case, or any case where the layout allows)."""
    canonical = " ".join(stripped.upper().split())
    if canonical in _DEGREES and not canonical.isascii() and (lower or stripped.isupper()):
        return canonical
    if canonical == DECLASSIFIED:
        return canonical
    if canonical in _DEGREES and stripped.isupper():
        return canonical
    if canonical in COMPANIONS and stripped.isupper():
        return canonical
    return letter_spaced_stamp(stripped)


def letter_spaced_stamp(stripped: str) -> str | None:
    """A stamp printed with spaced letters ("M Ậ T", "T Ố I   M Ậ T"), upper-case."""
    tokens = stripped.split()
    if len(tokens) < 3 or any(len(token) != 1 for token in tokens) or not stripped.isupper():
        return None
    return _SPACED_STAMPS.get("".join(tokens))


def _stamps_in_line(line: str, where: str) -> Iterator[Marking]:
    for match in STAMP.finditer(line):
        prefix, stamp = match.group(1), " ".join(match.group(0).split())
        ascii_only = stamp.isascii()
        if ascii_only and prefix is None:
            continue
        start, end = match.span()
        if _phrase_word(_word_before(line, start), _COMPOUND_BEFORE) and not _urgency_before(
            line, start
        ):
            continue
        lone_degree = prefix is None
        if lone_degree and _phrase_word(_word_after(line, end), _COMPOUND_AFTER) and not (
            _urgency_after(line, end)
        ):
            continue
        yield _marking(stamp, where, line)


def _urgency_before(line: str, index: int) -> bool:
    """The words before `index` end with an urgency mark ("KHẨN", "HỎA TỐC" …), which
    stands beside a security mark on a document."""
    words = line[:index].split()
    return any(" ".join(words[-n:]).lstrip(EDGE_PUNCT) in _URGENCY for n in (1, 2, 4))


def _urgency_after(line: str, index: int) -> bool:
    """The words after `index` begin with an urgency mark ("KHẨN", "THƯỢNG KHẨN" …)."""
    words = line[index:].split(maxsplit=4)[:4]
    return any(" ".join(words[:n]).rstrip(EDGE_PUNCT) in _URGENCY for n in (1, 2, 4))


def _bracketed(line: str, where: str) -> Iterator[Marking]:
    """Rule 4/5: a bracket holding only a stamp; upper-case anywhere, other cases (with
    diacritics) only as a prefix of the line."""
    for match in BRACKETED.finditer(line):
        inner = " ".join(match.group(1).split())
        folded = fold(inner)
        if folded == "giai mat":
            yield _marking(DECLASSIFIED, where, line)
        elif folded in FOLDED_DEGREES and (
            inner.isupper() or (not inner.isascii() and _PREFIXES.fullmatch(line, 0, match.start()))
        ):
            yield _marking(inner.upper(), where, line)


def _degree_field(line: str, where: str) -> Iterator[Marking]:
    for match in _DEGREE_FIELD.finditer(line):
        value = fold(match.group(1))
        for words, level in sorted(FOLDED_DEGREES.items(), key=lambda kv: -len(kv[0])):
            if value == words or value.startswith(words + " "):
                yield Marking(level, f"Độ mật: {match.group(1).strip()}", where, _excerpt(line))
                break


def _companions(line: str, where: str) -> Iterator[Marking]:
    for stamp in COMPANIONS:
        start = line.find(stamp)
        if start < 0:
            continue
        end = start + len(stamp)
        if not _phrase_word(_word_before(line, start), frozenset()) and not _phrase_word(
            _word_after(line, end), frozenset()
        ):
            yield _marking(stamp, where, line)


def _word_before(line: str, index: int) -> str | None:
    """The word right before `index`, joined by plain spaces only; None across punctuation."""
    head = line[:index]
    if not head or not head[-1].isspace():
        return None
    if _GAP.search(head[-3:]) or head.endswith("\t"):
        return None
    tokens = head.split()
    return tokens[-1].lstrip(EDGE_PUNCT) if tokens else None


def _word_after(line: str, index: int) -> str | None:
    tail = line[index:]
    if not tail or not tail[0].isspace():
        return None
    if _GAP.match(tail) or tail.startswith("\t"):
        return None
    tokens = tail.split()
    return tokens[0].rstrip(EDGE_PUNCT) if tokens else None


def _phrase_word(word: str | None, compounds: frozenset[str]) -> bool:
    """Rule 3: an upper-case word, or a word that forms a compound with "mật"."""
    if word is None or not word.isalpha():
        return False
    return is_upper_word(word) or fold(word) in compounds


def _scan_extra(text: str, where: str, rules: MarkingRules) -> Iterator[Marking]:
    for level, pattern in rules.extra:
        match = pattern.search(text)
        if match:
            yield Marking(level, match.group(0), where, f"policy pattern {pattern.pattern!r}")


def _marking(stamp: str, where: str, line: str) -> Marking:
    if stamp == DECLASSIFIED:
        return Marking(None, stamp, where, _excerpt(line))
    level = _DEGREES.get(stamp, Classification.MAT)
    return Marking(level, stamp, where, _excerpt(line))


def _excerpt(line: str) -> str:
    text = " ".join(line.split())
    return text if len(text) <= 100 else text[:97] + "…"


def _result(found: Iterable[Marking]) -> MarkingScan:
    unique: dict[tuple[Classification | None, str, str], Marking] = {}
    for marking in found:
        unique.setdefault((marking.level, marking.stamp, marking.evidence), marking)
    markings = tuple(unique.values())
    return MarkingScan(markings, any(m.stamp == DECLASSIFIED for m in markings))
