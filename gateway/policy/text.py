"""Text helpers for matching Vietnamese written with or without diacritics."""

from __future__ import annotations

import unicodedata

_LETTERS = str.maketrans({"đ": "d", "Đ": "d"})


def fold(text: str) -> str:
    """`text` lowercased, diacritics removed, `đ` as `d`, spaces collapsed."""
    decomposed = unicodedata.normalize("NFD", text.translate(_LETTERS).casefold())
    plain = "".join(char for char in decomposed if not unicodedata.combining(char))
    return " ".join(plain.split())
