"""Which messages the gateway analyses in its own process instead of a worker."""

from __future__ import annotations

import pytest

from gateway.deciding.decider import INLINE_LIMIT, is_small_plain_text

HEAD = b"From: a@gmail.com\r\nTo: b@hue.gov.vn\r\nSubject: hi\r\n"


@pytest.mark.parametrize(
    ("message", "inline"),
    [
        (HEAD + b"\r\nXin chao.\r\n", True),
        (HEAD + b"Content-Type: text/plain; charset=utf-8\r\n\r\nXin chao.\r\n", True),
        (HEAD + b"Content-Type: text/html\r\n\r\n<p>Xin chao</p>\r\n", True),
        (HEAD + b"Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n\r\nx\r\n--b--\r\n",
         False),
        (HEAD + b"content-type:application/pdf\r\n\r\nJVBERi0=\r\n", False),
        (HEAD + b"Content-Type:\r\n multipart/mixed; boundary=b\r\n\r\n--b--\r\n", False),
        (HEAD + b"\r\nbegin 644 giay-moi.pdf\r\nM)5!$1BTQ+C0*\r\nend\r\n", False),
        (HEAD + b"\r\n" + b"x" * INLINE_LIMIT, False),
        (HEAD + b"Content-Type: text/plain\r\nContent-Transfer-Encoding: base64\r\n"
                b"Content-Disposition: attachment; filename=a.pdf\r\n\r\nJVBERi0=\r\n", False),
        (HEAD + b"Content-Type: text/plain; name=giay-moi.pdf\r\n\r\nx\r\n", False),
        (HEAD + b"Content-Transfer-Encoding: quoted-printable\r\n\r\nx=3D1\r\n", False),
        (HEAD + b"Content-Transfer-Encoding: 8bit\r\n\r\nXin ch\xc3\xa0o\r\n", True),
        (HEAD + b"\r\n%PDF-1.7\r\n1 0 obj\r\n", False),
        (HEAD + b"\r\nPK\x03\x04\x14\x00\r\n", False),
    ],
    ids=["no content-type", "text/plain", "text/html", "multipart", "pdf", "folded type",
         "uuencoded", "too big", "base64 attachment", "named text part", "quoted-printable",
         "8bit text", "raw pdf", "raw zip"],
)
def test_only_small_plain_text_is_analysed_inline(message: bytes, inline: bool) -> None:
    assert is_small_plain_text(message) is inline
