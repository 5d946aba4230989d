"""The MIME walk through `analyse`: parts, names, types, archives, limits, broken input."""

from __future__ import annotations

import base64
import unicodedata
from dataclasses import replace

import pytest

from gateway.analysis.model import Analysis, Classification, Document
from gateway.analysis.settings import AnalysisLimits, AnalysisSettings
from tests.fixtures.documents import (
    Attachment,
    OfficialPaper,
    encrypted_pdf,
    forwarded,
    message,
    odt,
    official_docx,
    official_pdf,
    raw_message,
    rfc2047_attachment,
    scanned_pdf,
    seven_zip,
    to_bytes,
    zip_bomb,
    zip_of,
)
from tests.support.analysing import Analyser

GIAY_MOI = official_pdf()


def by_name(analysis: Analysis, filename: str) -> Document:
    return next(d for d in analysis.documents if d.filename == filename)


def test_plain_message_has_its_body_as_document(analysed: Analyser) -> None:
    analysis = analysed(message())
    assert [d.path for d in analysis.documents] == ["1"]
    body = analysis.documents[0]
    assert (body.filename, body.detected_type, body.doc_type) == (None, "text/plain", "other")
    assert analysis.classification is None and analysis.uninspectable == ()
    assert analysis.headers.subject == "Gửi tài liệu"


@pytest.mark.parametrize(
    "filename",
    ["Giấy mời họp.pdf", unicodedata.normalize("NFD", "Giấy mời họp.pdf"), "giay moi hop.pdf"],
)
def test_rfc2231_nfd_and_ascii_names(analysed: Analyser, filename: str) -> None:
    analysis = analysed(message(attachments=[Attachment(filename, GIAY_MOI)]))
    document = analysis.documents[1]
    assert document.filename == unicodedata.normalize("NFC", filename)
    assert (document.path, document.detected_type, document.doc_type) == (
        "2", "application/pdf", "giay_moi")
    assert document.official_number == "12/GM-UBND"
    assert "GIẤY MỜI" in document.doc_type_evidence


def test_rfc2047_word_in_name_parameter(analysed: Analyser) -> None:
    analysis = analysed(rfc2047_attachment("Báo cáo tháng 10.pdf", GIAY_MOI))
    assert analysis.documents[1].filename == "Báo cáo tháng 10.pdf"
    assert analysis.documents[1].doc_type == "giay_moi"  # the title beats the name


def test_type_comes_from_the_bytes_not_the_label(analysed: Analyser) -> None:
    msg = message(attachments=[Attachment("anh.jpg", GIAY_MOI, "image/jpeg")])
    document = analysed(msg).documents[1]
    assert (document.declared_type, document.detected_type) == ("image/jpeg", "application/pdf")
    assert document.doc_type == "giay_moi"


def test_scanned_document_takes_its_type_from_name_then_subject(analysed: Analyser) -> None:
    scan = scanned_pdf()
    named = analysed(message(attachments=[Attachment("bao-cao-thang-10.pdf", scan)]))
    assert named.documents[1].doc_type == "bao_cao"
    by_subject = analysed(message(subject="Giấy mời họp giao ban",
                                  attachments=[Attachment("scan0001.pdf", scan)]))
    assert by_subject.documents[1].doc_type == "giay_moi"
    assert "subject" in by_subject.documents[1].doc_type_evidence
    two = analysed(message(subject="Giấy mời họp", attachments=[
        Attachment("scan1.pdf", scan), Attachment("scan2.pdf", scan)]))
    assert [d.doc_type for d in two.documents[1:]] == ["other", "other"]
    assert any("no text layer" in problem for problem in two.problems)


def test_docx_odt_and_html_are_read(analysed: Analyser) -> None:
    docx = official_docx(["UBND TỈNH THỪA THIÊN HUẾ", "Số: 9/KH-UBND", "Kế hoạch",
                          "Tổ chức hội nghị"], caps_lines=["Kế hoạch"], header_lines=["MẬT"])
    doc = odt(["Số: 3/TB-VP", "THÔNG BÁO", "Lịch trực Tết"])
    msg = message(attachments=[Attachment("a.docx", docx, "application/octet-stream"),
                               Attachment("b.odt", doc, "application/octet-stream")],
                  html="<html><body><p>[TỐI MẬT]</p><p>Nội dung</p></body></html>")
    analysis = analysed(msg)
    docx_doc, odt_doc = by_name(analysis, "a.docx"), by_name(analysis, "b.odt")
    assert (docx_doc.doc_type, docx_doc.classification) == ("ke_hoach", Classification.MAT)
    assert odt_doc.doc_type == "thong_bao" and odt_doc.official_number == "3/TB-VP"
    html = next(d for d in analysis.documents if d.detected_type == "text/html")
    assert html.classification == Classification.TOI_MAT
    assert analysis.classification == Classification.TOI_MAT


def test_forwarded_message_is_walked_with_its_subject(analysed: Analyser) -> None:
    inner = message(subject="[TUYỆT MẬT] Phương án",
                    attachments=[Attachment("Giấy mời.pdf", GIAY_MOI)])
    analysis = analysed(forwarded(forwarded(inner)))
    paths = [d.path for d in analysis.documents]
    assert "2/rfc822/2/rfc822/2" in paths
    assert analysis.classification == Classification.TUYET_MAT
    marking = next(m for m in analysis.markings if m.level == Classification.TUYET_MAT)
    assert marking.where == "2/rfc822/2/rfc822 subject"
    assert by_name(analysis, "Giấy mời.pdf").doc_type == "giay_moi"


def test_eml_attachment_declared_as_octet_stream(analysed: Analyser) -> None:
    inner = to_bytes(message(subject="TỐI MẬT"))
    analysis = analysed(message(attachments=[Attachment("thu.eml", inner,
                                                        "application/octet-stream")]))
    assert analysis.classification == Classification.TOI_MAT
    assert any(d.path.startswith("2/rfc822/") for d in analysis.documents)


def test_zip_members_are_documents(analysed: Analyser) -> None:
    stamped = official_pdf(OfficialPaper(stamp="TỐI MẬT", number="5/KH-CAT", title="KẾ HOẠCH"))
    inner_zip = zip_of({"Báo cáo.pdf": official_pdf(OfficialPaper("8/BC-UBND", "BÁO CÁO"))})
    archive = zip_of({"giay-moi.pdf": GIAY_MOI, "sub/ke hoach.pdf": stamped,
                      "inner.zip": inner_zip})
    analysis = analysed(message(attachments=[Attachment("ho so.zip", archive,
                                                        "application/zip")]))
    paths = {d.path: d for d in analysis.documents}
    assert paths["2"].detected_type == "application/zip"
    assert paths["2!giay-moi.pdf"].doc_type == "giay_moi"
    assert paths["2!sub/ke hoach.pdf"].classification == Classification.TOI_MAT
    assert paths["2!inner.zip!Báo cáo.pdf"].doc_type == "bao_cao"
    assert analysis.classification == Classification.TOI_MAT


def test_zip_bomb_is_refused_not_unpacked(analysed: Analyser) -> None:
    analysis = analysed(message(attachments=[Attachment("bomb.zip", zip_bomb(),
                                                        "application/zip")]))
    member = by_name(analysis, "bomb.pdf")
    assert member.uninspectable is not None and "zip bomb" in member.uninspectable
    assert member.size == 0
    assert any("zip bomb" in reason for reason in analysis.uninspectable)


def test_decompression_budget_is_shared_by_the_message(
    analysed: Analyser, settings: AnalysisSettings
) -> None:
    small = replace(settings, limits=AnalysisLimits(max_decompressed_bytes=150_000))
    archive = zip_of({f"{i}.pdf": GIAY_MOI for i in range(6)})
    analysis = analysed(message(attachments=[Attachment("a.zip", archive, "application/zip")]),
                        with_settings=small)
    refused = [d for d in analysis.documents if d.uninspectable]
    assert refused and all("decompression limit" in (d.uninspectable or "") for d in refused)
    assert any(d.doc_type == "giay_moi" for d in analysis.documents)


def test_encrypted_pdf_and_zip_member_are_uninspectable(analysed: Analyser) -> None:
    msg = message(attachments=[
        Attachment("mat.pdf", encrypted_pdf()),
        Attachment("kin.zip", zip_of({"a.pdf": GIAY_MOI}, encrypted=["a.pdf"]), "application/zip"),
        Attachment("a.7z", seven_zip(), "application/octet-stream"),
    ])
    analysis = analysed(msg)
    assert "encrypted PDF" in (by_name(analysis, "mat.pdf").uninspectable or "")
    assert "encrypted archive member" in (by_name(analysis, "a.pdf").uninspectable or "")
    assert "broken 7z archive" in (by_name(analysis, "a.7z").uninspectable or "")
    assert len(analysis.uninspectable) == 3


def test_pdf_readable_with_empty_user_password_is_read(analysed: Analyser) -> None:
    owner_only = official_pdf(OfficialPaper(stamp="MẬT"), user_password="")
    assert b"/Encrypt" in owner_only
    analysis = analysed(message(attachments=[Attachment("x.pdf", owner_only)]))
    assert analysis.documents[1].classification == Classification.MAT


def test_limits_on_depth_and_parts(analysed: Analyser, settings: AnalysisSettings) -> None:
    nested = message(subject="0")
    for level in range(1, 6):
        nested = forwarded(nested, subject=str(level))
    shallow = replace(settings, limits=AnalysisLimits(max_depth=3))
    analysis = analysed(nested, with_settings=shallow)
    assert any("deeper than 3" in reason for reason in analysis.uninspectable)
    few = replace(settings, limits=AnalysisLimits(max_parts=3))
    many = message(attachments=[Attachment(f"{i}.txt", b"x", "text/plain") for i in range(6)])
    limited = analysed(many, with_settings=few)
    assert len([d for d in limited.documents if d.uninspectable is None]) == 3
    assert any("more than 3 parts" in reason for reason in limited.uninspectable)


def test_content_past_the_part_limit_is_uninspectable_not_ignored(
    analysed: Analyser, settings: AnalysisSettings
) -> None:
    fillers = [Attachment(f"{i}.bin", b"filler", "application/octet-stream") for i in range(4)]
    secret = Attachment("bao-cao.txt", "TỐI MẬT\nBáo cáo".encode(), "text/plain")
    hidden = message(attachments=[*fillers, secret])
    analysis = analysed(hidden, with_settings=replace(settings,
                                                      limits=AnalysisLimits(max_parts=3)))
    assert analysis.classification is None
    assert any("more than 3 parts" in reason for reason in analysis.uninspectable)


def test_parts_the_walk_refuses_count_against_the_part_limit_too(
    analysed: Analyser, settings: AnalysisSettings
) -> None:
    encrypted = b"".join(
        b"--B\r\nContent-Type: application/pkcs7-mime; smime-type=enveloped-data;"
        b" name=smime.p7m\r\nContent-Transfer-Encoding: base64\r\n\r\nAAAA\r\n"
        for _ in range(10))
    raw = (b"From: a@gmail.com\r\nMIME-Version: 1.0\r\n"
           b"Content-Type: multipart/mixed; boundary=B\r\n\r\n" + encrypted + b"--B--\r\n")
    analysis = analysed(raw, with_settings=replace(settings, limits=AnalysisLimits(max_parts=3)))
    assert len(analysis.documents) == 4  # three refused parts and one "rest not inspected"
    assert "more than 3 parts" in analysis.documents[-1].uninspectable


def test_archive_members_past_the_limit_are_uninspectable(
    analysed: Analyser, settings: AnalysisSettings
) -> None:
    archive = zip_of({f"{i}.txt": b"x" for i in range(5)})
    few = replace(settings, limits=AnalysisLimits(max_archive_members=2))
    analysis = analysed(message(attachments=[Attachment("a.zip", archive, "application/zip")]),
                        with_settings=few)
    assert any("not inspected" in reason for reason in analysis.uninspectable)


def test_a_charset_that_is_no_text_encoding_does_not_break_the_analysis(
    analysed: Analyser,
) -> None:
    raw = (b"From: a@gmail.com\r\nTo: b@hue.gov.vn\r\nSubject: [MAT] x\r\n"
           b"Content-Type: text/plain; charset=base64\r\n\r\nT\xe1\xbb\x90I M\xe1\xba\xacT\r\n")
    analysis = analysed(raw)
    assert analysis.documents[0].detected_type.startswith("text/")


def test_broken_mime_degrades_to_best_reading(analysed: Analyser) -> None:
    pdf64 = base64.b64encode(GIAY_MOI).decode("ascii")
    head = ("From: a@thuathienhue.gov.vn\nTo: b@thuathienhue.gov.vn\n"
            "Subject: =?utf-8?b?W03huqxUXQ?=\n"
            'Content-Type: multipart/mixed; boundary="X"')
    body = (f"--X\r\nContent-Type: text/plain; charset=no-such-charset\r\n\r\nM\xe1\xba\xacT\r\n"
            f"--X\r\nContent-Type: application/pdf; name=a.pdf\r\n"
            f"Content-Transfer-Encoding: base64\r\n\r\n{pdf64[:-3]}!!\r\n"
            f"--X\r\nContent-Type: application/pdf\r\n\r\n").encode("latin-1")
    analysis = analysed(raw_message(head, body))
    assert analysis.problems  # the missing close delimiter and bad base64 are recorded
    assert analysis.headers.subject == "[MẬT]"
    assert analysis.classification == Classification.MAT
    assert [d.path for d in analysis.documents][:2] == ["1", "2"]


def test_missing_boundary_is_a_problem_not_a_crash(analysed: Analyser) -> None:
    head = "From: a@thuathienhue.gov.vn\nSubject: x\nContent-Type: multipart/mixed"
    analysis = analysed(raw_message(head, b"--X\r\nhello\r\n--X--\r\n"))
    assert analysis.problems
    assert len(analysis.documents) == 1


def test_analysis_size_and_documents_hash(analysed: Analyser) -> None:
    data = to_bytes(message(attachments=[Attachment("a.pdf", GIAY_MOI)]))
    analysis = analysed(data)
    import hashlib

    assert analysis.size == len(data)
    assert analysis.documents[1].sha256 == hashlib.sha256(GIAY_MOI).hexdigest()
    assert analysis.documents[1].size == len(GIAY_MOI)


def test_tree_too_deep_for_the_parser_is_uninspectable(analysed: Analyser) -> None:
    depth = 3000
    opening = b"".join(
        b'Content-Type: multipart/mixed; boundary="b%d"\r\n\r\n--b%d\r\n' % (i, i)
        for i in range(depth)
    )
    closing = b"".join(b"--b%d--\r\n" % i for i in reversed(range(depth)))
    head = b"From: a@thuathienhue.gov.vn\r\nSubject: =?utf-8?b?W1Thu5BJIE3huqxUXQ==?=\r\n"
    analysis = analysed(head + opening + b"Content-Type: text/plain\r\n\r\nx\r\n" + closing)
    assert analysis.uninspectable == ("1: MIME structure nested too deeply to be parsed",)
    assert analysis.classification == Classification.TOI_MAT  # the subject still counts


@pytest.mark.parametrize(
    ("raw_name", "expected", "level"),
    [
        ("Báo cáo.pdf".encode(), "Báo cáo.pdf", None),
        ("Báo cáo.pdf".encode("latin-1"), "Báo cáo.pdf", None),
        (b"B\xb8o c\xb8o M\xcbT.pdf", "Báo cáo MẬT.pdf", Classification.MAT),
    ],
    ids=["utf-8", "latin-1", "tcvn3"],
)
def test_raw_eight_bit_filenames(
    analysed: Analyser, raw_name: bytes, expected: str, level: Classification | None
) -> None:
    head = 'From: a@thuathienhue.gov.vn\nSubject: x\nContent-Type: multipart/mixed; boundary="X"'
    body = (b'--X\r\nContent-Type: application/pdf\r\nContent-Disposition: attachment; filename="'
            + raw_name + b'"\r\nContent-Transfer-Encoding: base64\r\n\r\n'
            + base64.encodebytes(GIAY_MOI) + b"--X--\r\n")
    document = analysed(raw_message(head, body)).documents[0]
    assert document.filename == expected
    assert document.classification == level


@pytest.mark.parametrize(
    ("content_type", "disposition", "level"),
    [
        ("application/pdf", "attachment; filename=\"tailieu.pdf\"; "
         "filename*=utf-8''T%E1%BB%90I%20M%E1%BA%ACT%20-%20tai%20lieu.pdf", Classification.TOI_MAT),
        ('application/pdf; name="=?utf-8?b?VFVZ4buGVCBN4bqsVC5wZGY=?="',
         'attachment; filename="tailieu.pdf"', Classification.TUYET_MAT),
        ("application/pdf; name*=utf-8''tailieu.pdf",
         'attachment; filename="tailieu.pdf"; filename="[MAT] tai lieu.pdf"', Classification.MAT),
    ],
    ids=["filename-star", "content-type-name", "repeated-filename"],
)
def test_a_stamp_in_any_of_a_parts_names_counts(
    analysed: Analyser, content_type: str, disposition: str, level: Classification
) -> None:
    head = 'From: a@thuathienhue.gov.vn\nSubject: x\nContent-Type: multipart/mixed; boundary="X"'
    body = (f"--X\r\nContent-Type: {content_type}\r\nContent-Disposition: {disposition}\r\n"
            "Content-Transfer-Encoding: base64\r\n\r\n").encode() + base64.encodebytes(GIAY_MOI)
    document = analysed(raw_message(head, body + b"--X--\r\n")).documents[0]
    assert (document.filename, document.classification) == ("tailieu.pdf", level)
    assert all("'tailieu.pdf'" in marking.where for marking in document.markings)
