"""Vietnamese text helpers: Unicode normalisation and diacritic-free folding.

Folding removes every diacritic (tone and vowel marks) and maps đ/Đ (and the
look-alike Icelandic ð/Ð that broken fonts produce) to d, so that "Giấy mời",
"GIÂY MƠI", "giay moi" and the NFD or old-tone-placement forms ("hoà" / "hòa")
all compare equal.
"""

from __future__ import annotations

import functools
import re
import unicodedata

_D_LIKE = str.maketrans({"đ": "d", "Đ": "D", "ð": "d", "Ð": "D"})
_SPACES = re.compile(r"\s+")
# Latin letters (Basic to Extended-B, Extended Additional) and the combining diacritics:
# text made only of these loses its marks by a table; other text by Unicode decomposition.
_LATIN = ((0x0000, 0x024F), (0x1E00, 0x1EFF))
_MARKS = (0x0300, 0x036F)
_OTHER = re.compile("[^" + "".join(f"\\u{a:04x}-\\u{b:04x}" for a, b in (*_LATIN, _MARKS)) + "]")


def nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text)


def strip_marks(text: str) -> str:
    """`text` without diacritics, case kept ("Giấy Mời" -> "Giay Moi")."""
    if text.isascii():
        return text
    if _OTHER.search(text) is None:
        return text.translate(_bare_table())
    return _decomposed_bare(text)


def _decomposed_bare(text: str) -> str:
    """`strip_marks` for any text: decomposed, marks (category Mn) dropped, composed."""
    decomposed = unicodedata.normalize("NFD", text.translate(_D_LIKE))
    bare = "".join(ch for ch in decomposed if unicodedata.category(ch) != "Mn")
    return unicodedata.normalize("NFC", bare)


@functools.cache
def _bare_table() -> dict[int, str | None]:
    """Each Latin letter with marks to its `_decomposed_bare` form; combining marks to nothing."""
    table: dict[int, str | None] = {code: None for code in range(_MARKS[0], _MARKS[1] + 1)}
    for start, end in _LATIN:
        for code in range(start, end + 1):
            bare = _decomposed_bare(chr(code))
            if bare != chr(code):
                table[code] = bare
    return table


def fold(text: str) -> str:
    """Lower-case, diacritic-free, single-spaced form used for comparisons."""
    return _SPACES.sub(" ", strip_marks(text).lower()).strip()


def is_upper_word(word: str) -> bool:
    """True for a word made only of letters, all of them upper-case ("MẬT", "ONG")."""
    return word.isalpha() and word.isupper()
