"""The analysis's own parser reads every message exactly as the standard library's does.

`gateway.analysis.parsing.parse` keeps the header fields it parsed (one parse per field)
and cuts long base64 runs out before the line-by-line parser runs; these tests hold it to
the plain `email.message_from_bytes(policy=policy.default)` on tricky input, tree for tree
and analysis for analysis.
"""

from __future__ import annotations

import email
import re
from collections.abc import Iterator
from contextlib import contextmanager
from email import policy
from email.headerregistry import HeaderRegistry
from email.message import EmailMessage, Message
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import gateway.analysis.analyse as analyse_module
import gateway.analysis.blocks as blocks_module
import gateway.analysis.parsing as parsing_module
import gateway.analysis.walk as walk_module
from gateway.analysis.analyse import analyse
from gateway.analysis.blocks import MIN_BYTES, _long_runs, parse_in_blocks
from gateway.analysis.model import Analysis
from gateway.analysis.parsing import parse
from gateway.analysis.settings import AnalysisSettings
from tests.support.tricky_mime import BLOCKS, TRICKY
from tests.unit.analysis.test_properties import SETTINGS, mangle, trees


def stdlib_parse(data: bytes) -> Message:
    return email.message_from_bytes(data, policy=policy.default)


def stdlib_parse_inner(data: bytes) -> Message | None:
    try:
        return stdlib_parse(data)
    except RecursionError:
        return None


@contextmanager
def stdlib_parser() -> Iterator[None]:
    """The analysis with the plain standard library parser: the reference reading."""
    saved = analyse_module.parse, walk_module.parse_inner
    analyse_module.parse, walk_module.parse_inner = stdlib_parse, stdlib_parse_inner  # type: ignore[assignment]
    try:
        yield
    finally:
        analyse_module.parse, walk_module.parse_inner = saved  # type: ignore[assignment]


def both(data: bytes, analysis_settings: AnalysisSettings) -> tuple[Analysis, Analysis]:
    ours = analyse(data, analysis_settings, None)
    with stdlib_parser():
        reference = analyse(data, analysis_settings, None)
    return ours, reference


def _safe(read: Any) -> object:
    try:
        return read()
    except Exception as exc:  # the same exception counts as the same reading
        return f"raises {exc.__class__.__name__}"


def _field(part: Message, name: str) -> object:
    """A field as a reader sees it (the registry may raise on a mangled value: both
    parsers must then raise alike)."""
    value = part.get(name)
    return (name, str(value), type(value).__mro__[1].__name__,
            [d.__class__.__name__ for d in getattr(value, "defects", ())])


def dump(message: Message) -> list[object]:
    """Everything a reader of the tree can see, entity by entity."""
    out: list[object] = []
    pending = [message]
    while pending:
        part = pending.pop()
        fields = [_safe(lambda part=part, name=name: _field(part, name))
                  for name, _ in part.raw_items()]
        out.append((list(part.raw_items()), fields, part.get_content_type(),
                    part.get_default_type(),
                    _safe(part.get_filename), _safe(part.get_content_charset),
                    _safe(part.get_boundary), part.preamble, part.epilogue,
                    [d.__class__.__name__ for d in part.defects]))
        payload = part.get_payload()
        if isinstance(payload, list):
            pending.extend(reversed(payload))
        else:
            out.append((payload, _safe(lambda part=part: part.get_payload(decode=True)),
                        [d.__class__.__name__ for d in part.defects]))
    return out


@pytest.mark.parametrize("index", range(len(TRICKY)))
def test_tricky_message_tree_is_the_standard_one(index: int) -> None:
    data = TRICKY[index]
    assert dump(parse(data)) == dump(stdlib_parse(data))


@pytest.mark.parametrize("index", range(len(TRICKY)))
def test_tricky_message_analysis_is_the_standard_one(
    index: int, settings: AnalysisSettings
) -> None:
    ours, reference = both(TRICKY[index], settings)
    assert ours == reference


def test_the_tricky_messages_do_reach_what_they_test(settings: AnalysisSettings) -> None:
    """Guard against a corpus that exercises nothing: the readings below are the hard ones."""
    from tests.support.tricky_mime import NESTED, RFC2047_2231

    analysis = analyse(RFC2047_2231, settings, None)
    assert [d.filename for d in analysis.documents][1:] == ["Giấy mời.pdf", "tài liệu.zip", "a.txt"]
    assert analysis.headers.subject == "Công văn MẬT ok"
    nested = analyse(NESTED, settings, None)
    assert {"1.2.2", "2/rfc822/2", "3.1/rfc822/1"} <= {d.path for d in nested.documents}


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(trees, st.lists(st.integers(min_value=0), max_size=4),
       st.sampled_from([b"--", b"\r\n\r\n", b"=?utf-8?b?", b"\n", b"\r", b"boundary=\"", b";",
                        b"\nQUJD\n", b"\n--"]),
       st.sampled_from([b"\n", b"\r\n"]))
def test_random_trees_read_as_the_standard_library_reads_them(
    tree: EmailMessage, cuts: list[int], junk: bytes, newline: bytes
) -> None:
    data = mangle(tree.as_bytes().replace(b"\n", newline), cuts, junk)
    assert dump(parse(data)) == dump(stdlib_parse(data))
    ours, reference = both(data, SETTINGS)
    assert ours == reference


def test_each_header_field_is_parsed_once(monkeypatch: pytest.MonkeyPatch,
                                          settings: AnalysisSettings) -> None:
    """200 parts with the same Content-Type: the registry parses that field once, and
    `get_param` splits its parameters once, not once per reader (the parser and the walk
    read each Content-Type about eleven times)."""
    parsed: list[str] = []
    original = HeaderRegistry.__call__

    def counting(self: HeaderRegistry, name: str, value: str) -> Any:
        parsed.append(name.lower())
        return original(self, name, value)

    monkeypatch.setattr(HeaderRegistry, "__call__", counting)
    split: list[str] = []
    splitter = email.message._parseparam  # type: ignore[attr-defined]
    monkeypatch.setattr(email.message, "_parseparam",
                        lambda value: split.append(value) or splitter(value))
    part = "--P\nContent-Type: text/plain; charset=utf-8\n\nphần {n}\n"
    data = ('From: a@b.vn\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary="P"\n\n'
            + "".join(part.format(n=n) for n in range(200)) + "--P--\n").encode()
    analysis = analyse(data, settings, None)
    assert len(analysis.documents) == 200
    assert parsed.count("content-type") <= 3
    assert len(split) <= 6  # get_param's own splitting of the parameters, once per value


def _spying() -> tuple[list[int], Any]:
    sizes: list[int] = []

    def spy(data: bytes) -> Message:
        sizes.append(len(data))
        return stdlib_parse(data)

    return sizes, spy


def test_long_base64_runs_never_reach_the_line_parser() -> None:
    """The 2 MB scan of the benchmark: the parser reads about 9 KB of it, once; the tree
    has every byte back (its PDF decodes whole)."""
    from bench.realistic_messages import letter_with_scan

    data = letter_with_scan()
    sizes, spy = _spying()
    tree = parse_in_blocks(data, spy)
    assert len(sizes) == 1 and sizes[0] < 16 * 1024 < len(data)
    assert dump(tree) == dump(stdlib_parse(data))
    assert any(part.get_payload(decode=True).startswith(b"%PDF-") for part in tree.walk()
               if not part.is_multipart())


@pytest.mark.parametrize("index", range(len(BLOCKS)))
def test_runs_in_preambles_epilogues_and_reports_read_as_a_whole(index: int) -> None:
    sizes, spy = _spying()
    tree = parse_in_blocks(BLOCKS[index], spy)
    assert dump(tree) == dump(stdlib_parse(BLOCKS[index]))
    assert sizes[-1] == len(BLOCKS[index]) if index == len(BLOCKS) - 1 else sizes[0] < 2000


def test_a_marker_the_parser_did_not_give_back_means_a_parse_of_the_whole() -> None:
    """A parser that loses a string (here: every epilogue) loses a marker: the message is
    parsed again as it came."""
    data = BLOCKS[0]
    sizes, spy = _spying()

    def losing(data: bytes) -> Message:
        tree = spy(data)
        tree.epilogue = None
        return tree

    parse_in_blocks(data, losing)
    assert sizes[0] < 2000 and sizes[1:] == [len(data)]


def with_runs(data: bytes, places: list[int], newline: bytes, ragged: bool = False) -> bytes:
    """`data` with runs of 300 or more base64 lines put in at the start of some of its lines,
    all of one width or `ragged`."""
    lines = data.splitlines(keepends=True)
    for place, count in zip(places, (300, 293, 400), strict=False):
        run = b"".join(b"QUJD%04dRUZH=" % n + b"Zm9v" * (ragged * (n % 3)) + newline
                       for n in range(count))
        index = place % (len(lines) + 1)
        lines[index:index] = [run]
    return b"".join(lines)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(trees, st.lists(st.integers(min_value=0), min_size=1, max_size=3),
       st.sampled_from([b"\n", b"\r\n"]), st.sampled_from([b"\n", b"\r\n"]),
       st.lists(st.integers(min_value=0), max_size=2),
       st.sampled_from([b"--", b"\r", b"\n\n", b":", b" "]), st.booleans())
def test_long_runs_anywhere_read_as_the_standard_library_reads_them(
    tree: EmailMessage, places: list[int], newline: bytes, run_newline: bytes,
    cuts: list[int], junk: bytes, ragged: bool,
) -> None:
    """Runs put at random line starts of random trees (in headers, preambles, bodies,
    between delimiters, at the end without a line break), then mangled."""
    data = with_runs(tree.as_bytes().replace(b"\n", newline), places, run_newline, ragged)
    data = mangle(data, cuts, junk)
    assert dump(parse(data)) == dump(stdlib_parse(data))


BASE64_LINES = re.compile(rb"^(?:[A-Za-z0-9+/=]+\r?\n)+", re.MULTILINE)
LINES = st.one_of(
    st.builds(lambda width, eol: (b"QUJD" * 30)[:width] + b"==" + eol,
              st.integers(1, 100), st.sampled_from([b"\n", b"\r\n"])),
    st.sampled_from([b"\n", b"\r\n", b"--b\r\n", b"a: b\n", b"QUJD\rQUJD\r\n", b"QUJD\r\r\n",
                     b"QUJD", b" QUJD\n", b"text with spaces\n"]),
)


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(LINES, st.integers(1, 2500)), min_size=1, max_size=8))
def test_the_runs_cut_are_whole_base64_lines_and_every_long_run_is_found(
    pieces: list[tuple[bytes, int]],
) -> None:
    """Each run `parse` cuts out is whole lines of base64 (it starts at a line start and
    lies in a run the expression finds), and each long run the expression finds is cut
    out, whole or in part, however its lines are laid out."""
    data = b"".join(line * count for line, count in pieces)
    found = list(_long_runs(data))
    expected = [run.span() for run in BASE64_LINES.finditer(data)
                if run.end() - run.start() >= MIN_BYTES]
    for start, end in found:
        assert end - start >= MIN_BYTES
        assert start == 0 or data[start - 1 : start] == b"\n"
        assert BASE64_LINES.fullmatch(data, start, end)
        assert any(low <= start and end <= high for low, high in expected)
    for low, high in expected:
        assert any(low <= start < high for start, _ in found)


@pytest.mark.parametrize("offset", [1, 7, 1000, 2047, 2048, 2049, 4095, 4096, 6000])
def test_a_run_of_just_the_least_length_is_found_wherever_it_starts(offset: int) -> None:
    run = (b"Q" * 63 + b"\n") * (MIN_BYTES // 64)
    data = b" " * (offset - 1) + b"\n" + run + b"-- end\n"
    assert list(_long_runs(data)) == [(offset, offset + MIN_BYTES)]


class NoExpression:
    def finditer(self, *_: object) -> Iterator[re.Match[bytes]]:
        raise AssertionError("lines of one width were read by the regular expression")


def test_a_run_of_lines_of_one_width_is_cut_whole_with_its_shorter_last_line(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The way encoders write base64 (after the empty line ending the part's header)
    is taken at once, without the regular expression."""
    body = b"QUJD" * 19 + b"\r\n"
    run = body * 100 + b"QUJD==\r\n"
    data = b"Content-Transfer-Encoding: base64\r\n\r\n" + run + b"\r\n--b--\r\n"
    start = data.index(run)
    monkeypatch.setattr(blocks_module, "_RUN", NoExpression())
    assert list(_long_runs(data)) == [(start, start + len(run))]



def test_structural_fields_are_parsed_once_per_process(monkeypatch: pytest.MonkeyPatch) -> None:
    """`text/plain; charset="utf-8"` and `base64` recur in every other message: the next
    message reuses their parsed values; its new boundary and its subject are parsed anew."""
    parsing_module._parse_structural.cache_clear()
    parsed: list[tuple[str, str]] = []
    original = HeaderRegistry.__call__

    def counting(self: HeaderRegistry, name: str, value: str) -> Any:
        parsed.append((name.lower(), value))
        return original(self, name, value)

    monkeypatch.setattr(HeaderRegistry, "__call__", counting)
    head = ("From: a@b.vn\nSubject: {n}\nMIME-Version: 1.0\n"
            "Content-Type: multipart/mixed; boundary=\"P{n}\"\n\n"
            "--P{n}\nContent-Type: text/plain; charset=\"utf-8\"\n"
            "Content-Transfer-Encoding: base64\n\nxJDDoyBn4butaQ==\n--P{n}--\n")
    first = parse(head.format(n=1).encode())
    first_leaf = first.get_payload()[0]
    assert first_leaf.get_payload(decode=True) == "Đã gửi".encode()
    assert str(first["subject"]) == "1"
    parsed.clear()
    second = parse(head.format(n=2).encode())
    leaf = second.get_payload()[0]
    assert leaf.get_content_charset() == "utf-8"
    assert leaf.get_payload(decode=True) == "Đã gửi".encode()
    assert leaf["content-type"] is first_leaf["content-type"]
    assert second.get_boundary() == "P2" and str(second["subject"]) == "2"
    assert ("content-type", 'text/plain; charset="utf-8"') not in parsed
    assert ("content-transfer-encoding", "base64") not in parsed
    assert ("content-type", 'multipart/mixed; boundary="P2"') in parsed
    assert ("subject", "2") in parsed


def test_a_long_structural_field_is_not_kept() -> None:
    parsing_module._parse_structural.cache_clear()
    name = "n" * parsing_module.SHARED_FIELD_LENGTH
    data = (f'Content-Type: application/pdf; name="{name}.pdf"\n\n%PDF-1.4\n').encode()
    assert parse(data).get_filename() == parse(data).get_filename() == f"{name}.pdf"
    assert parsing_module._parse_structural.cache_info().currsize == 0
