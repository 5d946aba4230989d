"""The lines of a text that a classification stamp could stand on, found in one search.

Every stamp of `gateway.analysis.markings` (rules 2-8) holds the letters m, a, t in a
row, in any case and with any diacritics ("MẬT", "MAT", "mật" in a bracket, "Độ mật:",
"GIẢI MẬT"), or is spaced out ("M Ậ T"), or is a companion stamp, upper-case, whose
last word ("HỒI", "BÌ") it then holds. A line with none of these yields no stamp, unless
it holds a character outside the Latin letters and punctuation whose case mappings and
diacritics are accounted for below (`_PLAIN`, without combining marks): such a line is
always read. One search over the whole text picks the lines; the detector reads only
those, and the layout of rule 5 (`StampLayout`) is worked out for them alone.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Iterator
from itertools import accumulate

from gateway.analysis.vietnamese import fold

COMPANIONS = ("TÀI LIỆU THU HỒI", "CHỈ NGƯỜI CÓ TÊN MỚI ĐƯỢC BÓC BÌ")
BRACKETED = re.compile(r"[\[(]\s*([^\[\]()]{1,40}?)\s*[\])]")
_HEAD_LINES = 6
_NUMBER_LINE = re.compile(r"(?i)^\W*s[ốo]\s*(?:[:.]|\d)")
_PLAIN = ((0x0000, 0x02FF), (0x1E00, 0x1EFF), (0x2010, 0x205F))
_LINE_BREAKS = "\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029"  # where str.splitlines cuts


def _letter_classes(*groups: str) -> list[str]:
    """Per group ("m", "aậ"): a class of the plain characters folding or cased to it."""
    patterns = [[(letter, re.compile(f"(?i){letter}")) for letter in group] for group in groups]
    classes: list[list[str]] = [[] for _ in groups]
    for start, end in _PLAIN:
        for char in map(chr, range(start, end + 1)):
            folded, upper, lower = fold(char), char.upper(), char.lower()
            for chars, letters in zip(classes, patterns, strict=True):
                if any(letter in folded or letter.upper() in upper or letter in lower
                       or pattern.fullmatch(char) for letter, pattern in letters):
                    chars.append(char)
    return ["[" + re.escape("".join(chars)) + "]" for chars in classes]


def _candidates() -> re.Pattern[str]:
    """A character outside `_PLAIN`, m-a-t, a spaced M Ậ T, or a companion's last word."""
    plain = "".join(f"\\u{start:04x}-\\u{end:04x}" for start, end in _PLAIN)
    spaces = f"[^\\S{_LINE_BREAKS}]+"
    mat = "".join(_letter_classes("m", "aậ", "t"))
    companions = "|".join(stamp.rsplit(" ", 1)[1] for stamp in COMPANIONS)  # HỒI, BÌ
    return re.compile(f"[^{plain}]|{mat}|M{spaces}Ậ{spaces}T|{companions}")


_CANDIDATE = _candidates()


class StampLayout:
    """Rule 5 for the lines of one text: where a stamp that is not upper-case may stand."""

    def __init__(self, lines: list[str]) -> None:
        self.lines = lines
        self._head: frozenset[int] | None = None

    def allows(self, index: int) -> bool:
        """Line `index` is a head line or near a number, and no wrapped sentence's tail."""
        placed = index in self.head or any(
            _NUMBER_LINE.match(line) for line in self.lines[max(index - 2, 0):index + 3])
        return placed and not _sentence_tail(self.lines[index], self._previous(index))

    @property
    def head(self) -> frozenset[int]:
        """The first filled lines."""
        if self._head is None:
            filled: list[int] = []
            for index, line in enumerate(self.lines):
                if len(filled) == _HEAD_LINES:
                    break
                if line.strip():
                    filled.append(index)
            self._head = frozenset(filled)
        return self._head

    def _previous(self, index: int) -> str:
        """The last filled line before `index`, or ""."""
        lines = self.lines
        return next((lines[i] for i in range(index - 1, -1, -1) if lines[i].strip()), "")


def stamp_lines(text: str) -> Iterator[tuple[str, bool]]:
    """The lines of `text` that could hold a stamp, in order, each with `allows` (rule 5)."""
    found = _CANDIDATE.search(text)
    if found is None:
        return
    lines = text.splitlines()
    ends = list(accumulate(map(len, text.splitlines(keepends=True))))
    layout = StampLayout(lines)
    while found is not None:
        index = bisect_right(ends, found.start())
        yield lines[index], layout.allows(index)
        found = _CANDIDATE.search(text, ends[index])


def _sentence_tail(line: str, previous: str) -> bool:
    """A line that ends a sentence wrapped from the line before ("mật).", "mật.")."""
    text = line.strip()
    unbalanced = text.count(")") > text.count("(") or text.count("]") > text.count("[")
    ends_sentence = text.endswith((".", ",", ";", ")", "]"))
    continued = bool(previous.strip()) and previous.rstrip()[-1:].isalnum()
    return unbalanced or (ends_sentence and continued and not _bracketed_whole(text))


def _bracketed_whole(text: str) -> bool:
    """The whole line is one bracket ("(Mật)."), which a sentence's tail is not."""
    return text[:1] in "[(" and BRACKETED.fullmatch(text.rstrip(".,;")) is not None
