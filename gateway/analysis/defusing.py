"""Stamps written as degree ids ("TỐI MẬT" → toi_mat), so that quoting one (a rule's reason,
a file name in a notice) never makes a text look classified.

The marking detector (`markings`) is the one source of what a stamp looks like: its stamp,
bracket and companion forms are rewritten, then the detector reads the result. When it still
finds a stamp (a disguised one: look-alike letters, invisible characters, spaced letters, a
lower-case stamp where its layout makes it one, a "Độ mật:" field), the text is taken as the
detector reads it and every "mật" in it becomes its degree id.
"""

from __future__ import annotations

import re
import unicodedata

from gateway.analysis.markings import (
    EDGE_PUNCT,
    STAMP,
    MarkingRules,
    letter_spaced_stamp,
    scan_subject,
    scan_text,
)
from gateway.analysis.skeleton import stamp_text
from gateway.analysis.stamplines import BRACKETED, COMPANIONS
from gateway.analysis.vietnamese import fold

_DEGREE_WORDS = re.compile(r"(?i)(?<!\w)(?:giải|tuyệt|tối)[ \u00a0]+mật(?!\w)")
_ANY_MAT = re.compile(
    r"(?i)(?<!\w)(?:(?:giải|tuyệt|tối|giai|tuyet|toi)[ \u00a0]+)?(?:mật|mat)(?!\w)"
)
_IDS = {"mat": "mat", "toi mat": "toi_mat", "tuyet mat": "tuyet_mat", "giai mat": "giai_mat"}
_DEFAULT_RULES = MarkingRules()


def defuse(text: str) -> str:
    """`text` with every classification stamp the detector would read written as its id."""
    rewritten = _rewrite(unicodedata.normalize("NFC", text))
    if not _bears_stamp(rewritten):
        return rewritten
    return _ANY_MAT.sub(_id, _rewrite(_unspaced(stamp_text(text))))


def _rewrite(text: str) -> str:
    text = STAMP.sub(_id, text)
    text = _DEGREE_WORDS.sub(_id, text)
    text = BRACKETED.sub(_bracket, text)
    for companion in COMPANIONS:
        text = text.replace(companion, companion.lower())
    return text


def _bears_stamp(text: str) -> bool:
    return bool(scan_text(text, "", _DEFAULT_RULES).markings
                or scan_subject(text, "", _DEFAULT_RULES).markings)


def _id(match: re.Match[str]) -> str:
    return _IDS[fold(match.group(0))]


def _bracket(match: re.Match[str]) -> str:
    degree = _IDS.get(fold(match.group(1)))
    whole = match.group(0)
    return whole if degree is None else f"{whole[0]}{degree}{whole[-1]}"


def _unspaced(text: str) -> str:
    """Lines that are a stamp in spaced letters ("M Ậ T") with the letters joined."""
    lines = []
    for line in text.split("\n"):
        stripped = line.strip(EDGE_PUNCT)
        stamp = letter_spaced_stamp(stripped) if stripped else None
        lines.append(line.replace(stripped, stamp) if stamp else line)
    return "\n".join(lines)
