"""Legacy Vietnamese encodings: recognised and converted to Unicode (NFC).

Handled, as bytes (undeclared 8-bit text) and as text already decoded as
Latin-1/Windows-1252 (what PDF and Word extraction give for the old fonts):
- Windows-1258: combining tone bytes after vowels; Python's cp1258 codec,
  then NFC composition.
- TCVN3 / ABC (TCVN 5712:1993 VN3, the ".VnTime" fonts): "Céng hoµ x· héi".
  The upper-case ".VnTimeH" fonts reuse the lower-case codes, so a word whose
  plain letters are all upper-case is upper-cased after conversion.
- VNI (the "VNI-Times" fonts): a base letter followed by a mark letter,
  "Coäng hoøa", "MAÄT".
- VISCII (RFC 1456): one byte per precomposed letter.
Each candidate reading is scored (Vietnamese letters gained, stray Latin-1
symbols lost) and the best one wins only when it clearly beats the text as
it was; text that is already Unicode Vietnamese, or plain ASCII, is left alone.
Not handled: VIQR ("Vie^.t Nam") and VPS.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable

from gateway.analysis.filetypes import codec_name, text_codec
from gateway.analysis.vietnamese import nfc

_TCVN3_LOWER = {
    0xB5: "à", 0xB6: "ả", 0xB7: "ã", 0xB8: "á", 0xB9: "ạ",
    0xA8: "ă", 0xBB: "ằ", 0xBC: "ẳ", 0xBD: "ẵ", 0xBE: "ắ", 0xC6: "ặ",
    0xA9: "â", 0xC7: "ầ", 0xC8: "ẩ", 0xC9: "ẫ", 0xCA: "ấ", 0xCB: "ậ",
    0xAE: "đ",
    0xCC: "è", 0xCE: "ẻ", 0xCF: "ẽ", 0xD0: "é", 0xD1: "ẹ",
    0xAA: "ê", 0xD2: "ề", 0xD3: "ể", 0xD4: "ễ", 0xD5: "ế", 0xD6: "ệ",
    0xD7: "ì", 0xD8: "ỉ", 0xDC: "ĩ", 0xDD: "í", 0xDE: "ị",
    0xDF: "ò", 0xE1: "ỏ", 0xE2: "õ", 0xE3: "ó", 0xE4: "ọ",
    0xAB: "ô", 0xE5: "ồ", 0xE6: "ổ", 0xE7: "ỗ", 0xE8: "ố", 0xE9: "ộ",
    0xAC: "ơ", 0xEA: "ờ", 0xEB: "ở", 0xEC: "ỡ", 0xED: "ớ", 0xEE: "ợ",
    0xEF: "ù", 0xF1: "ủ", 0xF2: "ũ", 0xF3: "ú", 0xF4: "ụ",
    0xAD: "ư", 0xF5: "ừ", 0xF6: "ử", 0xF7: "ữ", 0xF8: "ứ", 0xF9: "ự",
    0xFA: "ỳ", 0xFB: "ỷ", 0xFC: "ỹ", 0xFD: "ý", 0xFE: "ỵ",
}  # fmt: skip
_TCVN3_UPPER = {0xA1: "Ă", 0xA2: "Â", 0xA3: "Ê", 0xA4: "Ô", 0xA5: "Ơ", 0xA6: "Ư", 0xA7: "Đ"}
_TCVN3_TABLE = str.maketrans(
    {chr(code): char for code, char in (_TCVN3_LOWER | _TCVN3_UPPER).items()}
)
_VISCII_BYTES = (
    b"\x02\x05\x06\x14\x19\x1e\x80\x81\x82\x83\x84\x85\x86\x87\x88\x89\x8a\x8b\x8c\x8d"
    b"\x8e\x8f\x90\x91\x92\x93\x94\x95\x96\x97\x98\x99\x9a\x9b\x9c\x9d\x9e\x9f\xa0\xa1"
    b"\xa2\xa3\xa4\xa5\xa6\xa7\xa8\xa9\xaa\xab\xac\xad\xae\xaf\xb0\xb1\xb2\xb3\xb4\xb5"
    b"\xb6\xb7\xb8\xb9\xba\xbb\xbc\xbd\xbe\xbf\xc4\xc5\xc6\xc7\xcb\xce\xcf\xd0\xd1\xd5"
    b"\xd6\xd7\xd8\xdb\xdc\xde\xdf\xe4\xe5\xe6\xe7\xeb\xee\xef\xf0\xf1\xf6\xf7\xf8\xfb"
    b"\xfc\xfe\xff"
)
_VISCII_LETTERS = (
    "ẲẴẪỶỸỴẠẮẰẶẤẦẨẬẼẸẾỀỂỄỆỐỒỔỖỘỢỚỜỞỊỎỌỈỦŨỤỲÕắằặấầẩậẽẹếềểễệốồổỗỠƠộờởịỰỨỪỬơớƯẢĂẳẵẺĨỳĐứạỷừửỹỵỡư"
    "ảăữẫẻĩỉđựỏọụũủợỮ"
)
_VISCII_TABLE = str.maketrans(
    {chr(code): letter for code, letter in zip(_VISCII_BYTES, _VISCII_LETTERS, strict=True)}
)

_ACUTE, _GRAVE, _HOOK, _TILDE, _DOT = "\u0301", "\u0300", "\u0309", "\u0303", "\u0323"
_CIRCUMFLEX, _BREVE = "\u0302", "\u0306"
_VNI_TONES = {"ù": _ACUTE, "ø": _GRAVE, "û": _HOOK, "õ": _TILDE, "ï": _DOT}
_VNI_CIRCUMFLEX = {"â": "", "á": _ACUTE, "à": _GRAVE, "å": _HOOK, "ã": _TILDE, "ä": _DOT}
_VNI_BREVE = {"ê": "", "é": _ACUTE, "è": _GRAVE, "ú": _HOOK, "ü": _TILDE, "ë": _DOT}
_VNI_HORN = {"ô": "ơ", "ö": "ư", "Ô": "Ơ", "Ö": "Ư"}
_VNI_SINGLE = str.maketrans({
    "ñ": "đ", "Ñ": "Đ", "æ": "ỉ", "Æ": "Ỉ", "ó": "ĩ", "Ó": "Ĩ", "ò": "ị", "Ò": "Ị",
})  # fmt: skip
_VNI_MARK_CHARS = "".join({*_VNI_TONES, *_VNI_CIRCUMFLEX, *_VNI_BREVE})
_VNI_PAIR = re.compile(
    "([aeiouyAEIOUYôöÔÖ])([" + _VNI_MARK_CHARS + _VNI_MARK_CHARS.upper() + "]?)"
)

_VIETNAMESE_UNICODE = re.compile("[\u0102\u0103\u0110\u0111\u01a0\u01a1\u01af\u01b0\u1ea0-\u1ef9]")
_WORD = re.compile(r"\S+")
_TCVN3_WORD = re.compile("[A-Za-z\u00a1-\u00fe]+")
_PUNCTUATION = "\"'()[]{}<>.,;:!?-–—/*…“”‘’«»"
_TONE_MARKS = frozenset("\u0300\u0301\u0303\u0309\u0323")
_SYLLABLE = re.compile(
    "(ngh|ng|nh|ch|gh|gi|kh|ph|qu|th|tr|[bcdđghklmnpqrstvx])?([aăâeêioôơuưy]{1,3})(ch|ng|nh|[cmnpt])?"
)
_NUCLEI = frozenset({
    "a", "ă", "â", "e", "ê", "i", "o", "ô", "ơ", "u", "ư", "y", "ai", "ao", "au", "ay", "âu",
    "ây", "eo", "êu", "ia", "iê", "iu", "oa", "oă", "oe", "oi", "ôi", "ơi", "oo", "ua", "uâ",
    "uê", "ui", "uô", "uơ", "ưa", "ưi", "ươ", "ưu", "uy", "yê", "iêu", "oai", "oay", "oeo",
    "uây", "uôi", "ươi", "ươu", "uya", "uyê", "uyu", "yêu",
})  # fmt: skip
_MIN_GAIN = 3


def decode_text(data: bytes, charset: str | None) -> tuple[str, str | None]:
    """Decode a text part; returns the NFC text and the legacy encoding converted, if any."""
    unicode = text_codec(data, charset)
    if unicode.startswith(("utf-16", "utf-32")) or unicode == "utf-8-sig":
        return nfc(data.decode(unicode, "replace")), None
    name = codec_name(charset)
    if name == "cp1258":
        return nfc(data.decode("cp1258", "replace")), "windows-1258"
    if charset and charset.strip().lower() == "viscii":
        return viscii_to_unicode(data.decode("latin-1")), "viscii"
    if name not in (None, "ascii", "latin_1", "iso8859-1", "cp1252"):
        return nfc(data.decode(name, "replace")), None
    try:
        return nfc(data.decode("utf-8")), None
    except UnicodeDecodeError:
        pass
    as_latin1 = data.decode("latin-1")
    readings = [
        (nfc(data.decode("cp1258", "replace")), "windows-1258"),
        *_text_readings(as_latin1),
    ]
    return _best(as_latin1, readings)


def repair_text(text: str) -> tuple[str, str | None]:
    """`text` converted from a legacy encoding read as Latin-1, when it clearly was one.

    Only lines without any Unicode Vietnamese letter are candidates (a document
    may mix a Unicode title with a ".VnTime" body); the encoding is chosen once,
    from all candidate lines together, and applied to those lines.
    """
    lines = text.splitlines(keepends=True)
    legacy = [i for i, line in enumerate(lines) if _legacy_candidate(line)]
    if not legacy:
        return nfc(text), None
    sample = "".join(lines[i] for i in legacy)
    _, name = _best(sample, [(convert(sample), name) for convert, name in _CONVERTERS])
    if name is None:
        return nfc(text), None
    convert = dict((n, c) for c, n in _CONVERTERS)[name]
    for i in legacy:
        lines[i] = convert(lines[i])
    return nfc("".join(lines)), name


def _legacy_candidate(line: str) -> bool:
    return not line.isascii() and _VIETNAMESE_UNICODE.search(line) is None


def tcvn3_to_unicode(text: str) -> str:
    """Map TCVN3 code points to Unicode; words typed in the upper-case font are upper-cased."""
    return nfc(_TCVN3_WORD.sub(_convert_tcvn3_word, text))


def vni_to_unicode(text: str) -> str:
    """Compose VNI letter + mark pairs ("Vieät" -> "Việt")."""
    return nfc(_VNI_PAIR.sub(_convert_vni_pair, text).translate(_VNI_SINGLE))


def viscii_to_unicode(text: str) -> str:
    """Map VISCII bytes (read as Latin-1 code points) to Unicode letters."""
    return nfc(text.translate(_VISCII_TABLE))


def vietnamese_score(text: str) -> int:
    """Well-formed Vietnamese syllables gained, minus malformed non-ASCII words.

    One-character tokens are left out: a lone symbol ("§", "©") reads as a
    one-letter word in every legacy table, so it proves nothing either way.
    """
    score = 0
    for raw in _WORD.findall(text):
        word = raw.strip(_PUNCTUATION)
        if len(word) < 2 or word.isascii():
            continue
        score += 2 if is_vietnamese_syllable(word) else -3
    return score


def is_vietnamese_syllable(word: str) -> bool:
    """Whether `word` is one written Vietnamese syllable (onset, vowel nucleus, coda, one tone)."""
    decomposed = unicodedata.normalize("NFD", word.lower())
    if sum(1 for char in decomposed if char in _TONE_MARKS) > 1:
        return False
    shaped = unicodedata.normalize("NFC", "".join(c for c in decomposed if c not in _TONE_MARKS))
    match = _SYLLABLE.fullmatch(shaped)
    return match is not None and match.group(2) in _NUCLEI


def _text_readings(text: str) -> list[tuple[str, str]]:
    if not _legacy_candidate(text):
        return []
    return [(convert(text), name) for convert, name in _CONVERTERS]


def _best(original: str, readings: list[tuple[str, str]]) -> tuple[str, str | None]:
    baseline = vietnamese_score(original)
    best_text, best_name, best_score = nfc(original), None, baseline
    for text, name in readings:
        score = vietnamese_score(text)
        if score > best_score and score - baseline >= _MIN_GAIN:
            best_text, best_name, best_score = text, name, score
    if best_name is not None and best_name != "windows-1258" and not _VIETNAMESE_UNICODE.search(
        best_text
    ):
        return nfc(original), None
    return best_text, best_name


def _convert_tcvn3_word(match: re.Match[str]) -> str:
    word = match.group(0)
    converted = word.translate(_TCVN3_TABLE)
    letters = [ch for ch in word if ch.isascii() and ch.isalpha()]
    if converted != word and letters and all(ch.isupper() for ch in letters):
        return converted.upper()
    return converted


def _convert_vni_pair(match: re.Match[str]) -> str:
    base, mark = match.group(1), match.group(2)
    letter = _VNI_HORN.get(base, base)
    if not mark:
        return letter
    lower = mark.lower()
    if lower in _VNI_CIRCUMFLEX and base in "aeoAEO":
        return letter + _CIRCUMFLEX + _VNI_CIRCUMFLEX[lower]
    if lower in _VNI_BREVE and base in "aA":
        return letter + _BREVE + _VNI_BREVE[lower]
    if lower in _VNI_TONES:
        return letter + _VNI_TONES[lower]
    return letter + mark


_CONVERTERS: tuple[tuple[Callable[[str], str], str], ...] = (
    (tcvn3_to_unicode, "tcvn3"),
    (vni_to_unicode, "vni"),
    (viscii_to_unicode, "viscii"),
)
