"""The marking detector on real-looking Vietnamese phrases: no miss, no false alarm."""

from __future__ import annotations

import unicodedata

import pytest

from gateway.analysis.markings import (
    compile_rules,
    scan_filename,
    scan_header,
    scan_subject,
    scan_text,
)
from gateway.analysis.model import Classification
from gateway.analysis.settings import ClassificationSpec

MAT, TOI, TUYET = Classification.MAT, Classification.TOI_MAT, Classification.TUYET_MAT
RULES = compile_rules(ClassificationSpec())

# (text, expected degree, expected declassified)
STAMPS: list[tuple[str, Classification | None, bool]] = [
    ("[MẬT] Báo cáo tình hình an ninh chính trị quý III", MAT, False),
    ("(MẬT) Kế hoạch bảo vệ an ninh dịp Tết Nguyên đán", MAT, False),
    ("MẬT", MAT, False),
    ("TỐI MẬT", TOI, False),
    ("TUYỆT MẬT", TUYET, False),
    ("[TỐI MẬT] Phương án bảo vệ mục tiêu trọng điểm", TOI, False),
    ("[TUYỆT MẬT] Đề án tổ chức lực lượng", TUYET, False),
    ("MẬT - Kế hoạch triển khai nhiệm vụ năm 2025", MAT, False),
    ("MẬT: Báo cáo kết quả kiểm tra", MAT, False),
    ("Tối mật", TOI, False),
    ("Tuyệt mật", TUYET, False),
    ("Mật", MAT, False),
    ("[Mật] Báo cáo tổng hợp", MAT, False),
    ("(Tối mật) Kế hoạch phối hợp", TOI, False),
    ("[MAT] Bao cao tinh hinh", MAT, False),
    ("(TOI MAT) ke hoach phoi hop", TOI, False),
    ("[TUYET MAT] de an", TUYET, False),
    ("TOI MAT", TOI, False),
    ("TUYET MAT", TUYET, False),
    ("MAT", MAT, False),
    ("Độ mật: Mật", MAT, False),
    ("Độ mật: Tối mật", TOI, False),
    ("Độ mật: Tuyệt mật", TUYET, False),
    ("Độ khẩn: Hỏa tốc; Độ mật: Tối mật", TOI, False),
    ("Độ mật\tTối mật", TOI, False),
    ("Độ khẩn\tThường\nĐộ mật\tTuyệt mật\tSố bản: 2", TUYET, False),
    ("Độ mật     Mật", MAT, False),
    ("TÀI LIỆU THU HỒI", MAT, False),
    ("CHỈ NGƯỜI CÓ TÊN MỚI ĐƯỢC BÓC BÌ", MAT, False),
    ("MẬT\nUBND TỈNH THỪA THIÊN HUẾ\nCÔNG AN TỈNH", MAT, False),
    ("TỐI MẬT\nTÀI LIỆU THU HỒI", TOI, False),
    ("Fwd: [MẬT] Kế hoạch bảo vệ hội nghị", MAT, False),
    ("RE: (TỐI MẬT) V/v triển khai phương án", TOI, False),
    ("Báo cáo tình hình [MẬT]", MAT, False),
    ("V/v kế hoạch bảo vệ (MẬT)", MAT, False),
    ("Kế hoạch - TỐI MẬT", TOI, False),
    ("TUYỆT MẬT - Bản số 01", TUYET, False),
    ("**MẬT**", MAT, False),
    ("« MẬT » Báo cáo chuyên đề", MAT, False),
    ("MẬT\tUBND TỈNH THỪA THIÊN HUẾ", MAT, False),
    ("MẬT     CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", MAT, False),
    ("Số: 12/KH-CAT     MẬT", MAT, False),
    ("MẬT.", MAT, False),
    ("MẬT - TÀI LIỆU THU HỒI", MAT, False),
    ("TỐI MẬT (Bản số 2/5)", TOI, False),
    ("Kính gửi: Ban Giám đốc\nTUYỆT MẬT\nBÁO CÁO", TUYET, False),
    ("[ TỐI MẬT ]", TOI, False),
    ("Tài liệu MẬT gửi kèm theo thư này", MAT, False),
    ("Xin gửi anh bản [TỐI MẬT] để góp ý", TOI, False),
    ("Bản tin nội bộ - MẬT - số 15", MAT, False),
    ("MẬT, KHẨN", MAT, False),
    ("MẬT / HỎA TỐC", MAT, False),
    ("TỐI MẬT KHẨN", TOI, False),
    ("TUYỆT MẬT HỎA TỐC", TUYET, False),
    ("KHẨN TỐI MẬT: Kế hoạch số 5", TOI, False),
    ("HỎA TỐC MẬT - Công điện về phòng chống bão", MAT, False),
    ("THƯỢNG KHẨN MẬT", MAT, False),
    ("HỎA TỐC HẸN GIỜ TUYỆT MẬT", TUYET, False),
    ("HOA TOC TOI MAT", TOI, False),
    ("MẬT KHẨN", MAT, False),
    ("MẬT THƯỢNG KHẨN: Công điện", MAT, False),
    ("[MẬT][KHẨN] Công điện", MAT, False),
    ("M Ậ T", MAT, False),
    ("T Ố I   M Ậ T", TOI, False),
    ("T U Y Ệ T  M Ậ T", TUYET, False),
    ("GIẢI MẬT\nTỐI MẬT", TOI, True),
    ("GIẢI MẬT", None, True),
    ("[GIẢI MẬT] Báo cáo năm 1995", None, True),
    ("Giải mật", None, True),
    ("[GIAI MAT] ho so luu tru", None, True),
]

# Ordinary text that mentions "mật" in its many other senses: never a marking.
ORDINARY: list[str] = [
    "Mật khẩu của bạn sẽ hết hạn sau 7 ngày",
    "Vui lòng không chia sẻ mật khẩu cho người khác",
    "MẬT KHẨU: Hue@2024",
    "Đổi mật khẩu hộp thư công vụ trước ngày 15/10",
    "Mã OTP là mật khẩu dùng một lần",
    "Giữ bí mật thông tin khách hàng",
    "Bảo đảm bí mật nhà nước theo quy định",
    "BÍ MẬT NHÀ NƯỚC",
    "BÍ MẬT",
    "Bí mật",
    "Luật Bảo vệ bí mật nhà nước năm 2018",
    "Hướng dẫn công tác bảo vệ bí mật nhà nước năm 2025",
    "HỘI NGHỊ TẬP HUẤN CÔNG TÁC BẢO VỆ BÍ MẬT NHÀ NƯỚC",
    "Bí mật kinh doanh của doanh nghiệp",
    "Quyền giữ bí mật đời tư",
    "Bản tin giải trí: bí mật của các ngôi sao",
    "Mật độ dân số tại thành phố Huế năm 2024",
    "MẬT ĐỘ DÂN SỐ NĂM 2024",
    "Bảng mật độ xây dựng khu đô thị mới",
    "Mật độ",
    "Thư thân mật gửi các bạn đồng nghiệp",
    "Lời chào thân mật",
    "TÌNH CẢM THÂN MẬT",
    "Quan hệ mật thiết giữa hai đơn vị",
    "Gắn bó mật thiết với nhân dân",
    "Mật ong rừng U Minh",
    "MẬT ONG HUẾ",
    "1. MẬT ONG HUẾ - 150.000đ",
    "Sản phẩm: MẬT ONG, MỨT GỪNG, MÈ XỬNG",
    "Chương trình khuyến mại: MẬT ONG HOA NHÃN giảm 20%",
    "Mật ong nguyên chất 100%",
    "Cơ mật viện triều Nguyễn",
    "CƠ MẬT VIỆN",
    "Mật mã học ứng dụng",
    "Ban Cơ yếu Chính phủ quản lý mật mã",
    "Mật thám Pháp thời thuộc địa",
    "Mật báo của trinh sát",
    "Mật danh của chiến dịch",
    "Cuộc mật đàm giữa hai bên",
    "Mật ước được ký kết năm 1907",
    "Mật lệnh khẩn",
    "Mật hiệu liên lạc",
    "Mật thư trò chơi lớn",
    "Mật hoa",
    "Mật gấu",
    "Mật mía Quảng Ngãi",
    "Mật vụ",
    "Mật tấu lên nhà vua",
    "Mật ngọt chết ruồi",
    "Ngọt như mật",
    "Không gửi tài liệu tối mật qua thư điện tử",
    "NGHIÊM CẤM GỬI TÀI LIỆU TỐI MẬT QUA THƯ ĐIỆN TỬ",
    "Tài liệu mật phải được quản lý chặt chẽ",
    "Thông tin tuyệt mật về sản phẩm mới ra mắt",
    "BẢO MẬT THÔNG TIN",
    "Chính sách bảo mật",
    "CHÍNH SÁCH BẢO MẬT",
    "Phòng Bảo mật và An toàn thông tin",
    "Đảm bảo an toàn, bảo mật hệ thống",
    "Mat khau moi cua ban la 123456",
    "MAT KHAU",
    "mat do dan so",
    "Look at the MAT file",
    "MAT LAB license",
    "Matlab R2024a",
    "Bàn giao tài liệu giải mật",
    "Hồ sơ mật",
    "Tối mai họp lúc 19 giờ",
    "Buổi tối mát mẻ",
    "MÁT MẺ",
    "MẶT TRẬN TỔ QUỐC VIỆT NAM",
    "Ủy ban Mặt trận Tổ quốc tỉnh",
    "TÀI LIỆU THU HỒI VỐN ĐẦU TƯ",
    "Kế hoạch thu hồi tài liệu",
    "Email thân mật",
    "Thân mật",
    "Trình độ bảo mật",
    "Độ mật: Thường",
    "Độ khẩn: Thường; Độ mật: Không",
    "Mật ong",
    "Ba lô MẬT ĐỘ CAO",
    "HỆ THỐNG BẢO MẬT ĐA LỚP",
    "Giữ bí mật tuyệt đối",
    "M A T",
    "B Í  M Ậ T",
]


@pytest.mark.parametrize(("text", "level", "declassified"), STAMPS)
def test_stamp_is_found(text: str, level: Classification | None, declassified: bool) -> None:
    scan = scan_text(text, "body", RULES)
    assert scan.level == level, scan.markings
    assert scan.declassified == declassified


@pytest.mark.parametrize("text", ORDINARY)
def test_ordinary_text_is_no_marking(text: str) -> None:
    scan = scan_text(text, "body", RULES)
    assert scan.markings == ()
    assert scan.level is None


def test_table_is_large_enough() -> None:
    assert len(STAMPS) + len(ORDINARY) >= 100
    assert {level for _, level, _ in STAMPS} >= {MAT, TOI, TUYET, None}


@pytest.mark.parametrize(("text", "level", "declassified"), STAMPS)
def test_nfd_text_reads_the_same(
    text: str, level: Classification | None, declassified: bool
) -> None:
    scan = scan_text(unicodedata.normalize("NFD", text), "body", RULES)
    assert (scan.level, scan.declassified) == (level, declassified)


@pytest.mark.parametrize("text", ORDINARY)
def test_nfd_ordinary_text_stays_ordinary(text: str) -> None:
    assert scan_text(unicodedata.normalize("NFD", text), "body", RULES).level is None


def test_highest_degree_wins_and_is_located() -> None:
    scan = scan_text("MẬT\nPhụ lục: TUYỆT MẬT\n(TỐI MẬT)", "attachment 'a.pdf' text", RULES)
    assert scan.level == TUYET
    assert {m.level for m in scan.markings} == {MAT, TOI, TUYET}
    assert all(m.where == "attachment 'a.pdf' text" for m in scan.markings)


@pytest.mark.parametrize(
    ("subject", "level"),
    [
        ("[MẬT] Báo cáo an ninh", MAT),
        ("TỐI MẬT - Kế hoạch", TOI),
        ("Tuyệt mật", TUYET),
        ("Fw: Đổi mật khẩu", None),
        ("Mật độ giao thông giờ cao điểm", None),
        ("Quà Tết: MẬT ONG HUẾ", None),
    ],
)
def test_subject(subject: str, level: Classification | None) -> None:
    assert scan_subject(subject, "subject", RULES).level == level


@pytest.mark.parametrize(
    ("filename", "level"),
    [
        ("MAT_Bao_cao_an_ninh.pdf", None),
        ("[MAT] Bao cao.pdf", MAT),
        ("TỐI MẬT - Kế hoạch.pdf", TOI),
        ("Ke-hoach-TUYET-MAT.docx", TUYET),
        ("TOI_MAT_phuong_an.pdf", TOI),
        ("mat-khau-wifi.txt", None),
        ("Mật độ dân số 2024.xlsx", None),
        ("doi_mat_khau.pdf", None),
    ],
)
def test_filename(filename: str, level: Classification | None) -> None:
    assert scan_filename(filename, "filename", RULES).level == level


@pytest.mark.parametrize(
    ("name", "value", "level", "declassified"),
    [
        ("X-Classification", "toi_mat", TOI, False),
        ("X-Do-Mat", "Tối mật", TOI, False),
        ("x-do-mat", "TUYET MAT", TUYET, False),
        ("Security-Classification", "mat", MAT, False),
        ("X-Classification", "giai_mat", None, True),
        ("X-Classification", "thuong", None, False),
        ("X-Mailer", "MẬT", None, False),
    ],
)
def test_configured_headers(
    name: str, value: str, level: Classification | None, declassified: bool
) -> None:
    scan = scan_header(name, value, RULES)
    assert (scan.level, scan.declassified) == (level, declassified)


def test_extra_and_ignore_patterns_are_configurable() -> None:
    spec = ClassificationSpec(
        extra_patterns={"toi_mat": ("(?i)ĐỘ MẬT CẤP B",)},
        ignore_patterns=(r"\(MẬT\) Huế",),
    )
    rules = compile_rules(spec)
    assert scan_text("Tài liệu độ mật cấp B", "body", rules).level == TOI
    assert scan_text("Cửa hàng đặc sản (MẬT) Huế", "body", rules).level is None
    assert scan_text("Cửa hàng đặc sản (MẬT) Huế", "body", RULES).level == MAT


def test_bad_patterns_become_problems_not_errors() -> None:
    rules = compile_rules(
        ClassificationSpec(extra_patterns={"mat": ("(",), "secret": ("x",)},
                           ignore_patterns=("[",))
    )
    assert len(rules.problems) == 3
    assert scan_text("[MẬT]", "body", rules).level == MAT
