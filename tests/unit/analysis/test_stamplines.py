"""The stamp scan reads only the lines `stamp_lines` picks; it finds what reading every
line found (the line-by-line scan it replaced is kept here as the reference), on the
marking tests' texts alone, inside long texts, in NFD, and with every character of the
first planes' blocks put into a stamp."""

from __future__ import annotations

import random
import re
import unicodedata

import pytest

from bench.realistic_messages import PARAGRAPHS
from gateway.analysis import markings
from gateway.analysis.markings import MarkingRules, MarkingScan, compile_rules
from gateway.analysis.settings import ClassificationSpec
from gateway.analysis.skeleton import stamp_text
from gateway.analysis.stamplines import _sentence_tail
from tests.unit.analysis import test_markings, test_markings_layout

RULES = compile_rules(ClassificationSpec())
NUMBER_LINE = re.compile(r"(?i)^\W*s[ốo]\s*(?:[:.]|\d)")


def reference(text: str, rules: MarkingRules = RULES) -> MarkingScan:
    """Every line read, with rule 5's layout worked out for all of them (the old scan)."""
    normal = stamp_text(text)
    lines = rules.blank_ignored(normal).splitlines()
    head = [index for index, line in enumerate(lines) if line.strip()][:6]
    numbers = [index for index, line in enumerate(lines) if NUMBER_LINE.match(line)]
    near = {index + shift for index in numbers for shift in range(-2, 3)}
    found, previous = [], ""
    for index, line in enumerate(lines):
        lower = (index in head or index in near) and not _sentence_tail(line, previous)
        found.extend(markings._scan_line(line, "text", lower))
        previous = line if line.strip() else previous
    found.extend(markings._scan_extra(normal, "text", rules))
    return markings._result(found)


def corpus() -> list[str]:
    """The marking tests' texts, alone and between lines of ordinary text."""
    texts = [text for text, *_ in test_markings.STAMPS] + test_markings.ORDINARY
    texts += [text for text, _ in test_markings_layout.KEPT + test_markings_layout.HIDDEN]
    texts += test_markings_layout.WRAPPED + test_markings_layout.ORDINARY
    filler = [*PARAGRAPHS, *test_markings_layout.FILLER.splitlines()]
    rng = random.Random(14)
    mixed = []
    for text in texts:
        mixed.append(test_markings_layout.HEAD + text + "\n" + test_markings_layout.FILLER)
        lines = rng.sample(filler, 12)
        lines.insert(rng.randrange(13), text)
        mixed.append("\n".join(lines))
        mixed.append("\r\n".join(["Số: 12/QĐ-UBND", *rng.sample(filler, 3), text, *lines]))
    together = ["\n".join(rng.sample(texts, 8) + rng.sample(filler, 8)) for _ in range(200)]
    everything = texts + mixed + together
    return everything + [unicodedata.normalize("NFD", text) for text in everything]


@pytest.mark.parametrize("part", range(4))
def test_the_picked_lines_give_what_every_line_gave(part: int) -> None:
    texts = corpus()[part::4]
    found = 0
    for text in texts:
        scan = markings.scan_text(text, "text", RULES)
        assert scan == reference(text), text
        found += bool(scan.markings)
    assert found > len(texts) // 4


def test_patterns_of_the_policy_read_the_same() -> None:
    rules = compile_rules(ClassificationSpec(extra_patterns={"mat": [r"(?i)nội bộ"]},
                                             ignore_patterns=[r"MẬT ĐỘ"]))
    for text in corpus()[::7]:
        assert markings.scan_text(text, "text", rules) == reference(text, rules), text


@pytest.mark.parametrize("block", range(0, 0x3000, 0x400))
def test_any_character_in_a_stamp_reads_the_same(block: int) -> None:
    for char in map(chr, range(block, block + 0x400)):
        for text in (f"M{char}T", f"[m{char}t] Báo cáo", f"Độ m{char}t: Mật", f"{char}ẬT",
                     f"MẬ{char}", f"TỐI M{char}T\n", f"M {char} T", f"({char}ật)",
                     f"THU H{char}I", f"TÀI LIỆU THU HỒ{char}", f"{char}\nMẬT ONG"):
            assert markings.scan_text(text, "text", RULES) == reference(text), text
