"""Text as a stamp detector must read it: invisible characters out, look-alike letters Latin.

Unicode TR 39's idea, kept case-sensitive because a stamp's case matters:
1. Default-ignorable characters are removed: every format character
   (category Cf: zero-width space and joiners, soft hyphen, BOM, bidi
   controls, word joiner …), the combining grapheme joiner, the Hangul fillers
   and the variation selectors. "M\u200bẬ\u00adT" reads "MẬT".
2. Compatibility forms are folded (NFKC): fullwidth "ＭẬＴ", mathematical
   "𝐌", ligatures.
3. Letters of other scripts that the TR 39 confusables table (the
   `confusable_homoglyphs` package's copy) gives as one Latin letter become
   that letter, keeping case: Cyrillic "М", "Т", "А", "О", "І", Greek "Μ",
   "Τ", "Α", "Ο", "Ι", Cherokee and Lisu look-alikes. Latin letters with
   diacritics (the Vietnamese alphabet) are never touched, and the table's
   "l" for a capital I-like letter is read "I". Cyrillic small "м" and "т",
   which TR 39 leaves out (they look like small capitals), are added.
4. NFC again, so that a Latin letter from step 3 composes with the combining
   marks that followed it (Cyrillic "А" + U+0302 + U+0323 → "Ậ").
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

from confusable_homoglyphs import confusables

_IGNORABLE_EXTRA = frozenset(
    "\u034f\u115f\u1160\u3164\uffa0\u180b\u180c\u180d\u180f"
    + "".join(chr(code) for code in range(0xFE00, 0xFE10))
)
_EXTRA_CONFUSABLES = {"м": "m", "т": "t"}
# Lines made only of these (Latin with the Vietnamese letters and combining marks, general
# punctuation without its format characters) need nothing but NFC; the others go through
# the full treatment, line by line, so that a long ordinary text costs little.
_PLAIN = "\x00-\xac\xae-\u02ff\u0300-\u034e\u0350-\u036f\u1e00-\u1eff\u2010-\u2027\u2030-\u205f"
_SUSPECT = re.compile(f"[^{_PLAIN}]")


@lru_cache(maxsize=1)
def _latin_table() -> dict[int, str]:
    table: dict[int, str] = {}
    for char, glyphs in confusables.confusables_data.items():
        if len(char) != 1 or char.isascii() or unicodedata.normalize("NFD", char)[0].isascii():
            continue
        latin = next(
            (g["c"] for g in glyphs if len(g["c"]) == 1 and g["c"].isascii() and g["c"].isalpha()),
            None,
        )
        if latin is not None:
            table[ord(char)] = "I" if latin == "l" and char.isupper() else latin
    table.update({ord(char): latin for char, latin in _EXTRA_CONFUSABLES.items()})
    return table


@lru_cache(maxsize=1)
def _ignorable() -> re.Pattern[str]:
    """Format characters live in planes 0, 1 and 14 only (Unicode 15: the tags U+E00xx)."""
    planes = (*range(0x20000), *range(0xE0000, 0xE1000))
    chars = [chr(code) for code in planes if unicodedata.category(chr(code)) == "Cf"]
    return re.compile("[" + "".join(map(re.escape, sorted({*chars, *_IGNORABLE_EXTRA}))) + "]+")


def stamp_text(text: str) -> str:
    """`text` with ignorable characters removed and look-alike letters made Latin, NFC."""
    if text.isascii():
        return text
    if _SUSPECT.search(text) is not None:
        lines = text.split("\n")
        text = "\n".join(_skeleton(line) if _SUSPECT.search(line) else line for line in lines)
    return unicodedata.normalize("NFC", text)


def _skeleton(line: str) -> str:
    visible = _ignorable().sub("", line)
    return unicodedata.normalize("NFKC", visible).translate(_latin_table())
