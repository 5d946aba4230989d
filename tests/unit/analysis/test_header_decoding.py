"""RFC 2047 decoding of subjects and display names as mail clients show them (issue 10 item 1).

Encoded words are made with the email package's own encoders
(`email.base64mime` / `email.quoprimime.header_encode`) over byte chunks cut
anywhere, inside a word or inside a multi-byte character.
"""

from __future__ import annotations

import itertools
from email import base64mime, quoprimime

from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.analysis.headers import read_headers
from gateway.analysis.model import Headers
from gateway.analysis.parsing import parse
from tests.fixtures.documents import cp1258, raw_message

OFFICE = "Văn phòng UBND tỉnh Thừa Thiên Huế"
SEPARATORS = (" ", "\r\n ", "\r\n\t", "  ", "")


def encoded(data: bytes, charset: str = "utf-8", q: bool = False) -> str:
    """One encoded word for `data`, by the email package's encoder."""
    return (quoprimime if q else base64mime).header_encode(data, charset)


def words(text: str, cuts: list[int], qs: list[bool], separator: str = " ") -> str:
    """`text` as UTF-8 cut at byte offsets `cuts`, each chunk an encoded word (Q where `qs`)."""
    data = text.encode()
    bounds = [0, *sorted(set(cuts)), len(data)]
    chunks = [data[a:b] for a, b in itertools.pairwise(bounds) if b > a]
    return separator.join(encoded(chunk, q=qs[i % len(qs)]) for i, chunk in enumerate(chunks))


def headers_of(from_field: str, subject: str) -> Headers:
    head = f"From: {from_field}\nSubject: {subject}".replace("\r\n", "\n")
    return read_headers(parse(raw_message(head, b"b\r\n")))


def cut_inside(text: str, char: str) -> int:
    """The byte offset one byte into the last `char` of `text` (inside its UTF-8 sequence)."""
    return len(text[: text.rindex(char)].encode()) + 1


# (what is written, the text a mail client shows)
TABLE = [
    ("split between words, B", words(OFFICE, [10], [False]), OFFICE),
    ("split inside a word, Q", words(OFFICE, [len(OFFICE.encode()) - 3], [True]), OFFICE),
    ("split inside ế, B", words(OFFICE, [cut_inside(OFFICE, "ế")], [False]), OFFICE),
    ("split inside ế, folded", words(OFFICE, [cut_inside(OFFICE, "ế")], [False], "\r\n "), OFFICE),
    ("split inside ừ, Q then B", words(OFFICE, [cut_inside(OFFICE, "ừ")], [True, False]), OFFICE),
    ("many pieces", words(OFFICE, list(range(3, 40, 4)), [True, False], "\r\n\t"), OFFICE),
    ("no whitespace between words", words(OFFICE, [cut_inside(OFFICE, "ế")], [False], ""),
     OFFICE),
    ("mixed charsets utf-8 + windows-1258",
     encoded("Thừa Thiên ".encode()) + " " + encoded("Hu\u00ea\u0301".encode("cp1258"),
                                                      "windows-1258"), "Thừa Thiên Huế"),
    ("mixed charsets iso-8859-1 + utf-8",
     encoded("Café ".encode("latin-1"), "iso-8859-1") + " " + encoded("Huế".encode()),
     "Café Huế"),
    ("plain text between words keeps its spaces",
     encoded("Thừa".encode()) + " Thiên " + encoded("Huế".encode()), "Thừa Thiên Huế"),
]


def test_table_subjects_and_display_names() -> None:
    wrong = []
    for name, written, shown in TABLE:
        headers = headers_of(f"{written} <vanphong@gmail.com>", written)
        display = headers.from_addresses[0].display_name if headers.from_addresses else None
        if (headers.subject, display) != (shown, shown):
            wrong.append((name, headers.subject, display))
    assert wrong == []


def test_stamp_split_across_encoded_words_is_whole_in_the_subject() -> None:
    subject = "[TỐI MẬT] Kế hoạch"
    written = words(subject, [cut_inside(subject, "Ậ")], [True])
    assert headers_of("a@thuathienhue.gov.vn", written).subject == subject


VIETNAMESE = st.text(
    alphabet="aăâbcdđeêghiklmnoôơpqrstuưvxyAĂÂĐÊÔƠƯàảãáạằẳẵắặầẩẫấậèẻẽéẹềểễếệìỉĩíịòỏõóọồổỗốộ"
    "ờởỡớợùủũúụừửữứựỳỷỹýỵẬẾỘ0123456789-.",
    min_size=1,
    max_size=12,
)


@settings(max_examples=150, deadline=None)
@given(
    st.lists(VIETNAMESE, min_size=1, max_size=6).map(" ".join),
    st.lists(st.integers(min_value=1, max_value=200), max_size=8),
    st.lists(st.booleans(), min_size=1, max_size=4),
    st.sampled_from(SEPARATORS),
)
def test_any_split_decodes_to_the_original(
    text: str, cuts: list[int], qs: list[bool], separator: str
) -> None:
    limit = len(text.encode())
    written = words(text, [c for c in cuts if c < limit], qs, separator)
    headers = headers_of(f"{written} <a@b.vn>", written)
    assert headers.subject == text
    assert [a.display_name for a in headers.from_addresses] == [text]


def test_raw_eight_bit_headers_utf8_else_windows_1258() -> None:
    for encode in (str.encode, cp1258):
        head = (b"From: " + encode("Văn phòng Thừa Thiên Huế") + b" <vp@gmail.com>\r\n"
                b"Subject: " + encode("[TỐI MẬT] Kế hoạch") + b"\r\n")
        headers = read_headers(parse(head + b"\r\nb\r\n"))
        assert headers.subject == "[TỐI MẬT] Kế hoạch"
        assert headers.from_addresses[0].display_name == "Văn phòng Thừa Thiên Huế"


@settings(max_examples=100, deadline=None)
@given(
    st.lists(VIETNAMESE, min_size=1, max_size=5).map(" ".join),
    st.lists(st.integers(min_value=1, max_value=60), max_size=5),
    st.lists(st.tuples(st.sampled_from(["utf-8", "windows-1258"]), st.booleans()), min_size=1,
             max_size=4),
    st.sampled_from(SEPARATORS),
)
def test_mixed_charsets_split_between_characters_decode_to_the_original(
    text: str, cuts: list[int], codings: list[tuple[str, bool]], separator: str
) -> None:
    bounds = [0, *sorted({c for c in cuts if c < len(text)}), len(text)]
    pieces = [text[a:b] for a, b in itertools.pairwise(bounds) if b > a]
    written = separator.join(
        encoded(piece.encode() if charset == "utf-8" else cp1258(piece), charset, q)
        for piece, (charset, q) in zip(pieces, itertools.cycle(codings), strict=False)
    )
    headers = headers_of(f"{written} <a@b.vn>", written)
    assert headers.subject == text
    assert [a.display_name for a in headers.from_addresses] == [text]
