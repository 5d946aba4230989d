"""Vietnamese document types from titles, numbers, "V/v" lines, filenames and subjects."""

from __future__ import annotations

import unicodedata

import pytest

from gateway.analysis.doctype import (
    TypeTable,
    find_official_number,
    identify_from_filename,
    identify_from_subject,
    identify_from_text,
    type_table,
)
from gateway.analysis.settings import AnalysisSettings
from tests.fixtures.documents import Attachment, OfficialPaper, message, official_pdf
from tests.support.analysing import Analyser


@pytest.fixture(scope="module")
def table(settings: AnalysisSettings) -> TypeTable:
    return type_table(settings.document_types, settings.untyped_document_type)


HEAD = "UBND TỈNH THỪA THIÊN HUẾ\nVĂN PHÒNG\nCỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM\n"

TEXTS = [
    (HEAD + "Số: 12/GM-UBND\nGIẤY MỜI\nHọp giao ban", "giay_moi", "12/GM-UBND"),
    (HEAD + "Số: 45/BC-SNV\nBÁO CÁO\nKết quả công tác tháng 10", "bao_cao", "45/BC-SNV"),
    (HEAD + "Số: 7/TB-UBND\nTHÔNG BÁO\nKết luận của Chủ tịch", "thong_bao", "7/TB-UBND"),
    (HEAD + "Số: 101/KH-UBND\nKẾ HOẠCH\nTriển khai", "ke_hoach", "101/KH-UBND"),
    (HEAD + "Số: 2345/QĐ-UBND\nQUYẾT ĐỊNH\nVề việc", "quyet_dinh", "2345/QĐ-UBND"),
    (HEAD + "Số: 88/TTr-SKHĐT\nTỜ TRÌNH\nVề việc", "to_trinh", "88/TTr-SKHĐT"),
    (HEAD + "LỊCH CÔNG TÁC\nTuần 42 của Lãnh đạo UBND tỉnh", "lich_cong_tac", None),
    (HEAD + "THÔNG BÁO KẾT LUẬN\ncủa Chủ tịch UBND tỉnh", "thong_bao", None),
    (HEAD + "THƯ MỜI\nHội thảo khoa học", "giay_moi", None),
    (HEAD + "GIẤY TRIỆU TẬP\nHọp Hội đồng", "giay_moi", None),
    # a công văn: the number has no type code, and a V/v line
    (HEAD + "Số: 1234/UBND-VP\nV/v họp giao ban tháng 11\nKính gửi: Các sở", "cong_van",
     "1234/UBND-VP"),
    # "CV" is not an official type code
    (HEAD + "Số: 56/CV-UBND\nV/v góp ý dự thảo", "cong_van", "56/CV-UBND"),
    # a V/v line alone
    ("V/v triển khai Chỉ thị 77/2014/CT-UBND\nKính gửi: Các cơ quan", "cong_van", None),
    # normative documents carry the year
    (HEAD + "Số: 77/2014/CT-UBND\nCHỈ THỊ\nVề tăng cường", "chi_thi", "77/2014/CT-UBND"),
    (HEAD + "Số: 15/2024/QĐ-UBND\nQUYẾT ĐỊNH\nBan hành quy định", "quyet_dinh",
     "15/2024/QĐ-UBND"),
    (HEAD + "Số: 77/2014/CT-UBND\nVề tăng cường trao đổi văn bản", "chi_thi", "77/2014/CT-UBND"),
    # Cục Thuế's công văn: CT is the issuer, not Chỉ thị
    ("CỤC THUẾ TỈNH THỪA THIÊN HUẾ\nSố: 12/CT-TTHT\nV/v chính sách thuế", "cong_van",
     "12/CT-TTHT"),
    # ...but a title decides
    ("Số: 12/CT-UBND\nCHỈ THỊ\nVề công tác phòng chống bão", "chi_thi", "12/CT-UBND"),
    # a party document number
    ("TỈNH ỦY THỪA THIÊN HUẾ\nSố: 35-NQ/TU\nNGHỊ QUYẾT\nVề phát triển", "nghi_quyet", "35-NQ/TU"),
    # no diacritics (a font that lost them)
    ("So: 12/GM-UBND\nGIAY MOI\nHop giao ban", "giay_moi", "12/GM-UBND"),
    ("BAO CAO\nTinh hinh thang 10", "bao_cao", None),
    # old tone placement: hoà / hòa never matters
    ("CỘNG HOÀ XÃ HỘI CHỦ NGHĨA VIỆT NAM\nTỜ TRÌNH\nV/v xin chủ trương", "to_trinh", None),
    # a title typed letter by letter, with wider gaps between words or none
    (HEAD + "G I Ấ Y   M Ờ I\nHọp giao ban", "giay_moi", None),
    (HEAD + "B Á O  C Á O\nKết quả công tác tháng 10", "bao_cao", None),
    (HEAD + "T H Ô N G B Á O K Ế T L U Ậ N\ncủa Chủ tịch", "thong_bao", None),
    (HEAD + "M Ậ T\nD A N H  S Á C H\nCán bộ", "other", None),
    # nothing official
    ("Chào anh,\nGửi anh bảng tính chi phí.\nThân", "other", None),
    ("Thực đơn tuần này: phở, bún bò Huế", "other", None),
]


@pytest.mark.parametrize(("text", "doc_type", "number"), TEXTS)
def test_type_from_text(table: TypeTable, text: str, doc_type: str, number: str | None) -> None:
    finding = identify_from_text(text, table)
    assert finding.doc_type == doc_type, finding.evidence
    assert finding.official_number == number
    if doc_type != "other":
        assert finding.evidence


@pytest.mark.parametrize(("text", "doc_type", "number"), TEXTS)
def test_nfd_text_types_the_same(
    table: TypeTable, text: str, doc_type: str, number: str | None
) -> None:
    finding = identify_from_text(unicodedata.normalize("NFD", text), table)
    assert finding.doc_type == doc_type


def test_body_reading_is_strict(table: TypeTable) -> None:
    loose = "Số: 1234/UBND-VP\nV/v họp giao ban"
    assert identify_from_text(loose, table).doc_type == "cong_van"
    strict = identify_from_text(loose, table, strict=True)
    assert (strict.doc_type, strict.official_number) == ("other", "1234/UBND-VP")
    assert identify_from_text("GIẤY MỜI\nHọp", table, strict=True).doc_type == "giay_moi"


@pytest.mark.parametrize(
    ("filename", "doc_type"),
    [
        ("giay moi hop.pdf", "giay_moi"),
        ("Giấy mời họp giao ban.pdf", "giay_moi"),
        (unicodedata.normalize("NFD", "Giấy mời họp.pdf"), "giay_moi"),
        ("bao-cao-thang-10.pdf", "bao_cao"),
        ("BaoCao_Quy3.docx", "bao_cao"),
        ("12-GM-UBND.pdf", "giay_moi"),
        ("45_BC_SNV.pdf", "bao_cao"),
        ("ke_hoach_trien_khai.docx", "ke_hoach"),
        ("Thong bao ket luan.pdf", "thong_bao"),
        ("lich-cong-tac-tuan-42.pdf", "lich_cong_tac"),
        ("To trinh xin chu truong.pdf", "to_trinh"),
        ("ảnh chụp hội nghị.pdf", "other"),
        ("scan0001.pdf", "other"),
        ("baocaothang.pdf", "other"),
    ],
)
def test_type_from_filename(table: TypeTable, filename: str, doc_type: str) -> None:
    assert identify_from_filename(filename, table).doc_type == doc_type


@pytest.mark.parametrize(
    ("subject", "doc_type"),
    [
        ("Giấy mời họp giao ban tháng 11", "giay_moi"),
        ("Fwd: Báo cáo tháng 10", "bao_cao"),
        ("Re: Tr: Kế hoạch triển khai", "ke_hoach"),
        ("V/v góp ý dự thảo", "cong_van"),
        ("Gửi văn bản số 12/GM-UBND", "other"),
        ("Số: 12/GM-UBND về họp", "giay_moi"),
        ("Ảnh hội nghị", "other"),
    ],
)
def test_type_from_subject(table: TypeTable, subject: str, doc_type: str) -> None:
    assert identify_from_subject(subject, table).doc_type == doc_type


@pytest.mark.parametrize(
    ("text", "number"),
    [
        ("Số: 12/GM-UBND", "12/GM-UBND"),
        ("Số:12/GM-UBND", "12/GM-UBND"),
        ("SỐ: 77/2014/CT-UBND", "77/2014/CT-UBND"),
        ("Số: 35-NQ/TU", "35-NQ/TU"),
        ("Số: 1234/UBND - VP", "1234/UBND-VP"),
        ("Không có số", None),
    ],
)
def test_official_number(text: str, number: str | None) -> None:
    found = find_official_number(text)
    assert (found.text if found else None) == number


def test_unknown_untyped_id_means_no_cong_van(settings: AnalysisSettings) -> None:
    table = type_table(settings.document_types, "no_such_type")
    assert identify_from_text("Số: 1234/UBND-VP\nV/v họp", table).doc_type == "other"


def test_unsigned_letter_spaced_invitation_is_typed(analysed: Analyser) -> None:
    """A PDF whose title is typed letter by letter, with no number: typed as printed
    (it was "other", and an unsigned invitation was relayed)."""
    pdf = official_pdf(OfficialPaper(number=None, title="G I Ấ Y   M Ờ I"))
    analysis = analysed(message(attachments=[Attachment("van ban.pdf", pdf)]))
    document = next(d for d in analysis.documents if d.filename == "van ban.pdf")
    assert document.doc_type == "giay_moi", document.doc_type_evidence
