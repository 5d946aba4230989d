"""Vietnamese text helpers: Unicode normalisation and diacritic-free folding.

Folding removes every diacritic (tone and vowel marks) and maps đ/Đ (and the
look-alike Icelandic ð/Ð that broken fonts produce) to d, so that "Giấy mời",
"GIÂY MƠI", "giay moi" and the NFD or old-tone-placement forms ("hoà" / "hòa")
all compare equal.
"""

from __future__ import annotations

import re
import unicodedata

_D_LIKE = str.maketrans({"đ": "d", "Đ": "D", "ð": "d", "Ð": "D"})
_SPACES = re.compile(r"\s+")


def nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text)


def strip_marks(text: str) -> str:
    """`text` without diacritics, case kept ("Giấy Mời" -> "Giay Moi")."""
    decomposed = unicodedata.normalize("NFD", text.translate(_D_LIKE))
    bare = "".join(ch for ch in decomposed if unicodedata.category(ch) != "Mn")
    return unicodedata.normalize("NFC", bare)


def fold(text: str) -> str:
    """Lower-case, diacritic-free, single-spaced form used for comparisons."""
    return _SPACES.sub(" ", strip_marks(text).lower()).strip()


def is_upper_word(word: str) -> bool:
    """True for a word made only of letters, all of them upper-case ("MẬT", "ONG")."""
    return word.isalpha() and word.isupper()
