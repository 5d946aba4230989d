"""A body's content is decoded exactly as the email package decodes it.

`gateway.analysis.entities.decoded` decodes well-formed base64 bodies with pybase64
and leaves every other body to `get_payload(decode=True)`; these tests hold it to the
email package on well-formed, mangled and odd bodies, bytes for bytes and defect for
defect.
"""

from __future__ import annotations

import base64
import email
from email import policy
from email.message import Message

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import gateway.analysis.entities as entities
from gateway.analysis.analyse import analyse
from gateway.analysis.entities import decoded
from gateway.analysis.settings import AnalysisSettings
from tests.fixtures.documents import OfficialPaper, official_pdf


def _part(body: bytes, encoding: str = "base64") -> Message:
    message = (b"Content-Type: application/pdf\r\nContent-Transfer-Encoding: "
               + encoding.encode() + b"\r\n\r\n" + body)
    return email.message_from_bytes(message, policy=policy.default)


def _email_package(body: bytes, encoding: str = "base64") -> tuple[bytes, list[str]]:
    part = _part(body, encoding)
    payload = part.get_payload(decode=True)
    return (payload if isinstance(payload, bytes) else b"",
            [type(defect).__name__ for defect in part.defects])


def _ours(body: bytes, encoding: str = "base64") -> tuple[bytes, list[str]]:
    part = _part(body, encoding)
    return decoded(part), [type(defect).__name__ for defect in part.defects]


def _wrapped(data: bytes, width: int, newline: bytes) -> bytes:
    text = base64.b64encode(data)
    return b"".join(text[i : i + width] + newline for i in range(0, len(text), width))


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=600), st.integers(min_value=4, max_value=120),
       st.sampled_from([b"\n", b"\r\n"]),
       st.lists(st.tuples(st.integers(min_value=0),
                          st.sampled_from([b"=", b"==", b"A", b" ", b"*", b"-", b"\r",
                                           b"\n", b"\t", b"\xc3\xa9", b"\x00", b"\n\n"])),
                max_size=3))
def test_any_base64_body_decodes_as_the_email_package_decodes_it(
    data: bytes, width: int, newline: bytes, edits: list[tuple[int, bytes]]
) -> None:
    body = _wrapped(data, width, newline)
    for at, junk in edits:
        at %= len(body) + 1
        body = body[:at] + junk + body[at:]
    assert _ours(body) == _email_package(body)


@pytest.mark.parametrize("body", [
    b"", b"\r\n", b"QQ==\r\n", b"QR==\r\n", b"QUJD\r\nRA==\r\n", b"QUJDRA\r\n",
    b"QUJDRA==QUJD\r\n", b"QQ=A\r\n", b"====\r\n", b"=QUJ\r\n", b"QUJ\r\nD\r\n",
    b"QU JD\r\n", b"QUJD\r\n\r\nRA==\r\n", "QUJD\u00e9\r\n".encode(),
])
def test_odd_base64_bodies_decode_as_the_email_package_decodes_them(body: bytes) -> None:
    assert _ours(body) == _email_package(body)


@pytest.mark.parametrize("charset", ["idna", "punycode", "cp037", "utf-8"])
@pytest.mark.parametrize("body", [
    _wrapped(b"%PDF-1.7 T\xe1\xbb\x90I M\xe1\xba\xacT", 76, b"\r\n") + b"\xe9\r\n",
    "JVBERi0xLjcgaGlkZGVu".encode("cp037"),
    _wrapped(b"%PDF-1.7", 76, b"\r\n"),
])
def test_a_charset_parameter_does_not_change_the_decoding(charset: str, body: bytes) -> None:
    """The body is decoded from its bytes as parsed, never from a view of it decoded by
    the part's charset (which a sender chooses: idna fails on 8-bit bytes, cp037 turns
    other bytes into base64)."""
    message = (b"Content-Type: application/pdf; charset=" + charset.encode()
               + b"\r\nContent-Transfer-Encoding: base64\r\n\r\n" + body)

    def both() -> tuple[Message, Message]:
        return (email.message_from_bytes(message, policy=policy.default),
                email.message_from_bytes(message, policy=policy.default))

    ours, theirs = both()
    expected = theirs.get_payload(decode=True)
    assert decoded(ours) == (expected if isinstance(expected, bytes) else b"")
    assert [type(d) for d in ours.defects] == [type(d) for d in theirs.defects]


@pytest.mark.parametrize("encoding", ["quoted-printable", "7bit", "x-uuencode", "BASE64"])
def test_other_encodings_are_the_email_package_s(encoding: str) -> None:
    body = b"QUJD=3D\r\n"
    assert _ours(body, encoding) == _email_package(body, encoding)


def test_a_well_formed_base64_body_does_not_go_through_the_email_package(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    part = _part(_wrapped(bytes(range(256)) * 40, 76, b"\r\n"))
    calls: list[bool] = []
    original = Message.get_payload

    def counting(self: Message, i: int | None = None, decode: bool = False) -> object:
        calls.append(decode)
        return original(self, i, decode)

    monkeypatch.setattr(Message, "get_payload", counting)
    assert decoded(part) == bytes(range(256)) * 40
    assert True not in calls
    assert entities._well_formed_base64(_part(b"QQ=A\r\n")) is None


@pytest.mark.parametrize("charset", ["idna", "punycode"])
def test_a_marked_pdf_under_a_failing_charset_is_still_read(
    charset: str, settings: AnalysisSettings
) -> None:
    pdf = _wrapped(official_pdf(OfficialPaper(stamp="TỐI MẬT")), 76, b"\r\n")
    message = (b"From: a@thuathienhue.gov.vn\r\nTo: b@x.test\r\nSubject: hi\r\n"
               b"MIME-Version: 1.0\r\nContent-Type: application/pdf; charset="
               + charset.encode() + b"\r\nContent-Disposition: attachment; filename=a.pdf\r\n"
               b"Content-Transfer-Encoding: base64\r\n\r\n" + pdf + b"\xe9\r\n")
    analysis = analyse(message, settings, None)
    assert analysis.classification == "toi_mat"
    assert [d.detected_type for d in analysis.documents] == ["application/pdf"]
