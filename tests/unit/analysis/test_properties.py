"""Random MIME trees, well-formed or mangled, never crash the walker."""

from __future__ import annotations

from email.message import EmailMessage

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gateway.analysis.analyse import analyse
from gateway.analysis.model import Analysis
from gateway.analysis.settings import AnalysisLimits, AnalysisSettings
from tests.fixtures.documents import zip_of
from tests.support.analysing import Recorder

SETTINGS = AnalysisSettings(limits=AnalysisLimits(max_depth=6, max_parts=40))
TEXT = st.text(alphabet=st.sampled_from("aăâMẬTTỐI mật [](): \n=?/-\\\"';\x00é"), max_size=40)
NAMES = st.one_of(st.none(), TEXT, st.sampled_from(["Giấy mời.pdf", "a.zip", "x.eml", "s.p7s"]))
def mangle(data: bytes, cuts: list[int], junk: bytes) -> bytes:
    for cut in cuts:
        if data:
            position = cut % len(data)
            data = data[:position] + junk + data[position + len(junk):]
    return data


ZIP = zip_of({"a.txt": "MẬT".encode(), "b/c.pdf": b"%PDF-1.4 x", "d.zip": zip_of({"e": b"f"})})
BLOBS = st.one_of(
    st.binary(max_size=200),
    st.builds(lambda cuts, junk: mangle(ZIP, cuts, junk),
              st.lists(st.integers(min_value=0), min_size=1, max_size=3),
              st.binary(min_size=1, max_size=4)),
    st.sampled_from([b"%PDF-1.4\n%broken", b"PK\x03\x04junk", b"7z\xbc\xaf\x27\x1c",
                     ZIP, b"From: x\r\n\r\nbody"]),
)
LEAF_TYPES = st.sampled_from(["text/plain", "text/html", "application/pdf", "application/zip",
                              "application/pkcs7-mime", "application/octet-stream",
                              "message/rfc822"])
MULTI_TYPES = st.sampled_from(["mixed", "alternative", "signed", "related"])


def printable(text: str) -> str:
    return "".join(char for char in text if char.isprintable())


def leaf(draw_type: str, data: bytes, name: str | None) -> EmailMessage:
    part = EmailMessage()
    maintype, subtype = draw_type.split("/")
    if maintype == "text":
        part.set_content(data.decode("latin-1"), subtype=subtype)
    elif draw_type == "message/rfc822":
        inner = EmailMessage()
        inner["Subject"] = printable(data.decode("latin-1"))[:30]
        inner.set_content("x")
        part.set_content(inner)
    else:
        part.set_content(data, maintype=maintype, subtype=subtype)
    if name is not None:
        part.add_header("Content-Disposition", "attachment", filename=printable(name))
    return part


leaves = st.builds(leaf, LEAF_TYPES, BLOBS, NAMES)


def multipart(subtype: str, children: list[EmailMessage]) -> EmailMessage:
    part = EmailMessage()
    part.set_content("preamble")
    part.make_mixed()
    part.set_type(f"multipart/{subtype}")
    part.set_payload(children)
    return part


trees = st.recursive(
    leaves, lambda inner: st.builds(multipart, MULTI_TYPES, st.lists(inner, max_size=4)),
    max_leaves=12,
)


def check(analysis: Analysis, data: bytes) -> None:
    assert analysis.size == len(data)
    limit = SETTINGS.limits.max_parts
    assert len(analysis.documents) <= limit + 1  # past the limit: one "rest not inspected"
    if len(analysis.documents) > limit:
        assert any(f"more than {limit} parts" in reason for reason in analysis.uninspectable)
    for document in analysis.documents:
        assert document.doc_type
        assert len(document.sha256) == 64


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(trees, TEXT)
def test_random_trees_are_analysed(tree: EmailMessage, subject: str) -> None:
    tree["Subject"] = printable(subject)
    tree["From"] = "a@thuathienhue.gov.vn"
    data = tree.as_bytes()
    check(analyse(data, SETTINGS, None), data)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(trees, st.lists(st.integers(min_value=0), max_size=4),
       st.sampled_from([b"--", b"\r\n\r\n", b"=?utf-8?b?", b"\xff\xfe", b"boundary=\"", b";"]))
def test_mangled_trees_are_analysed(tree: EmailMessage, cuts: list[int], junk: bytes) -> None:
    data = mangle(tree.as_bytes(), cuts, junk)
    check(analyse(data, SETTINGS, None), data)


@settings(max_examples=40, deadline=None)
@given(st.binary(max_size=400))
def test_arbitrary_bytes_are_analysed(data: bytes) -> None:
    check(analyse(data, SETTINGS, None), data)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(trees, st.lists(st.integers(min_value=0), max_size=3), st.sampled_from([b"--", b";"]))
def test_trees_with_a_signature_checker(tree: EmailMessage, cuts: list[int], junk: bytes) -> None:
    data = mangle(tree.as_bytes(), cuts, junk)
    check(analyse(data, SETTINGS, Recorder()), data)
