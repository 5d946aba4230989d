"""`find_official_number` tries the number's pattern only where a "Số" stands; it finds
what searching the whole head found on the type tests' texts and
on lines of numbers, near misses and blanks put together at random."""

from __future__ import annotations

import random
import re
import unicodedata

from bench.realistic_messages import PARAGRAPHS
from gateway.analysis.doctype import _NUMBER, HEAD_CHARS, _first_number, find_official_number
from gateway.analysis.vietnamese import nfc
from tests.unit.analysis.test_doctype import TEXTS

PIECES = [
    "Số: 12/GM-UBND", "SỐ:12/QĐ-UBND", "So: 45/BC-SNV", "SO : 7 / TB-UBND", "Số 88/TTr-SKHĐT",
    "  Số 101/KH-UBND", "\tSỐ 15/2024/QĐ-UBND", "Số: 35-NQ/TU", "Số: 1234/UBND - VP",
    "Số 12 /CT-TTHT", "ISO: 9001/TCVN", "Song: 12/AB", "Sở: 1/AB", "Số:", "Số: /", "Số 12",
    "Số  \n 12/GM-UBND", "thửa đất số 112, tờ bản đồ số 7/2", "Số:12-", "SOS: 1/A", "SỐ: 2024/",
    "x Số 12/GM-UBND", "(Số: 5/TB-VP)", "Số\u00a0: 3/GM-SYT", "", " ", "\r", "Số: 12/GM-UBND\r",
]


def groups(match: re.Match[str] | None) -> dict[str, str] | None:
    return None if match is None else match.groupdict()


def test_the_numbers_found_where_a_so_stands_are_the_searched_ones() -> None:
    rng = random.Random(14)
    texts = [text for text, *_ in TEXTS] + PIECES + list(PARAGRAPHS)
    texts += ["\n".join(rng.choices(PIECES + list(PARAGRAPHS), k=rng.randrange(1, 8)))
              for _ in range(3000)]
    texts += [unicodedata.normalize("NFD", text) for text in texts[::5]]
    found = 0
    for text in texts:
        head = nfc(text[:HEAD_CHARS])
        assert groups(_first_number(head)) == groups(_NUMBER.search(head)), text
        found += find_official_number(text) is not None
    assert found > len(texts) // 2


def test_a_long_head_without_a_number() -> None:
    head = " ".join(PARAGRAPHS * 5)
    assert find_official_number(head) is None
    assert _NUMBER.search(head[:HEAD_CHARS]) is None
