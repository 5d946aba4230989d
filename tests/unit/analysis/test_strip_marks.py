"""`strip_marks` by its table gives what Unicode decomposition gave (the reference below):
on every Vietnamese letter, upper and lower, composed and decomposed, on every Latin
character and combining mark alone and in pairs, and on random strings of them."""

from __future__ import annotations

import itertools
import random
import unicodedata

import pytest

from gateway.analysis.vietnamese import fold, strip_marks

VOWELS = "aăâeêioôơuưy"
TONES = ("", "\u0300", "\u0301", "\u0309", "\u0303", "\u0323")
LATIN = [chr(code) for code in (*range(0x250), *range(0x1E00, 0x1F00))]
MARKS = [chr(code) for code in range(0x300, 0x370)]
OTHERS = ["\u0374", "\u212b", "\u212a", "\u1100\u1161", "\u0bc6\u0bbe", "ﬁ", "Ｍ", "\u0483",
          "\u05b0", "\u093f", "ð", "\u1dc0", "\u20d7", "\ufe20", "𝐌", "М", "\u2028"]


def reference(text: str) -> str:
    """The decomposition `strip_marks` made before its table."""
    decomposed = unicodedata.normalize(
        "NFD", text.translate(str.maketrans({"đ": "d", "Đ": "D", "ð": "d", "Ð": "D"})))
    bare = "".join(ch for ch in decomposed if unicodedata.category(ch) != "Mn")
    return unicodedata.normalize("NFC", bare)


def vietnamese_letters() -> list[tuple[str, str]]:
    """(letter, its bare form) for every vowel with every tone, both cases, and đ."""
    letters = [("đ", "d"), ("Đ", "D")]
    for vowel, tone in itertools.product(VOWELS, TONES):
        base = unicodedata.normalize("NFD", vowel)[0]
        letter = unicodedata.normalize("NFC", vowel + tone)
        letters += [(letter, base), (letter.upper(), base.upper())]
    return letters


@pytest.mark.parametrize("form", ["NFC", "NFD"])
def test_every_vietnamese_letter_loses_its_marks(form: str) -> None:
    for letter, bare in vietnamese_letters():
        text = unicodedata.normalize(form, letter)
        assert strip_marks(text) == bare == reference(text), text
    words = unicodedata.normalize(form, "Giấy mời họp CÔNG VĂN ĐỘ MẬT Tuyệt mật Hoà hòa")
    assert strip_marks(words) == "Giay moi hop CONG VAN DO MAT Tuyet mat Hoa hoa"
    assert fold(words) == "giay moi hop cong van do mat tuyet mat hoa hoa"


def test_every_latin_character_and_mark_alone_and_in_pairs() -> None:
    for char in LATIN + MARKS + OTHERS:
        assert strip_marks(char) == reference(char), char
    for first, second in itertools.product(LATIN[0x41:] + MARKS, repeat=2):
        pair = first + second
        assert strip_marks(pair) == reference(pair), pair


def test_random_strings_read_the_same() -> None:
    rng = random.Random(14)
    alphabet = LATIN + MARKS * 4 + OTHERS + [letter for letter, _ in vietnamese_letters()] * 4
    for _ in range(20000):
        text = "".join(rng.choices(alphabet, k=rng.randrange(1, 12)))
        assert strip_marks(text) == reference(text), text
