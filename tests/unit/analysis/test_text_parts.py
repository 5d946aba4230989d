"""A part declared text that reads as text is read as text: its first characters may look
like a looser file signature ("BM" for a bitmap), it may mention "%PDF-", it may be UTF-16
or UTF-32 without a byte-order mark. A stamp in it is found all the same. What really is
a binary file, a whole PDF or an RTF document is still read as what it is."""

from __future__ import annotations

import base64

import pytest

from gateway.analysis import filetypes
from gateway.analysis.model import Classification
from tests.fixtures.documents import OfficialPaper, official_pdf
from tests.support.analysing import Analyser

STAMP = "TỐI MẬT\r\nBÁO CÁO tình hình tháng 11\r\n"


def text_message(body: bytes, charset: str = "utf-8", content_type: str = "text/plain",
                 filename: str | None = None) -> bytes:
    disposition = f'Content-Disposition: attachment; filename="{filename}"\r\n' if filename \
        else ""
    return (b"From: a@sotttt.thuathienhue.gov.vn\r\nTo: x@gmail.com\r\nSubject: Gui\r\n"
            b"MIME-Version: 1.0\r\n"
            + f"Content-Type: {content_type}; charset={charset}\r\n{disposition}".encode()
            + b"Content-Transfer-Encoding: base64\r\n\r\n"
            + base64.encodebytes(body).replace(b"\n", b"\r\n"))


@pytest.mark.parametrize("start", ["BM-01/BC", "MZ ", "ID3 ", "OggS ", "CWS ", "GIF89a ",
                                   "Ghi chú: tệp %PDF-1.7 đính kèm sau.\r\n"])
def test_a_text_starting_like_a_file_signature_is_read_as_text(
        analysed: Analyser, start: str) -> None:
    analysis = analysed(text_message((start + "\r\n" + STAMP).encode()))
    (document,) = analysis.documents
    assert document.detected_type == filetypes.TEXT
    assert analysis.classification is Classification.TOI_MAT


@pytest.mark.parametrize("codec, charset", [
    ("utf-16-le", "utf-16le"), ("utf-16-be", "utf-16be"), ("utf-16-le", "utf-16"),
    ("utf-16-be", "utf-16"), ("utf-32", "utf-32"), ("utf-32-le", "utf-32le"),
    ("utf-32", "utf-8"),  # a byte-order mark says more than a wrong charset
])
def test_utf16_and_utf32_text_is_read(analysed: Analyser, codec: str, charset: str) -> None:
    analysis = analysed(text_message(STAMP.encode(codec), charset))
    assert analysis.classification is Classification.TOI_MAT


def test_a_binary_file_declared_text_is_still_what_its_bytes_say(analysed: Analyser) -> None:
    program = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" * 64
    analysis = analysed(text_message(program, filename="ghichu.txt"))
    assert analysis.documents[0].detected_type != filetypes.TEXT


def test_a_whole_pdf_behind_some_text_is_still_a_pdf(analysed: Analyser) -> None:
    disguised = b"Xin chao\r\n" + official_pdf(OfficialPaper(title="BÁO CÁO", stamp="TỐI MẬT"))
    analysis = analysed(text_message(disguised, filename="ghichu.txt"))
    assert analysis.documents[0].detected_type == filetypes.PDF
    assert analysis.classification is Classification.TOI_MAT


@pytest.mark.parametrize("content_type", ["application/rtf", "text/rtf",
                                          "application/octet-stream"])
def test_rtf_documents_are_read(analysed: Analyser, content_type: str) -> None:
    rtf = (rb"{\rtf1\ansi\ansicpg1258\deff0{\fonttbl{\f0 Times New Roman;}}"
           rb"\f0\fs24\qc\b T\u7888?I M\u7852?T\b0\par B\'c1O C\'c1O\par"
           rb"{\pict\pngblip " + b"89504e47" * 200 + rb"}\par th\'e1ng 11\par}")
    analysis = analysed(text_message(rtf, content_type=content_type, filename="baocao.rtf"))
    (document,) = analysis.documents
    assert document.detected_type == filetypes.RTF
    assert analysis.classification is Classification.TOI_MAT
