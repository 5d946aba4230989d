"""Stamps by layout and through invisible or look-alike characters (issue 10 items 2 and 12).

Each table holds the false alarms the detector must not raise and the stamps it
must keep finding; the real-PDF tests run the same cases through extraction.
"""

from __future__ import annotations

import re
import unicodedata

import pytest

from gateway.analysis import markings
from gateway.analysis.model import Classification
from gateway.analysis.settings import ClassificationSpec
from tests.fixtures.documents import (
    Attachment,
    OfficialPaper,
    message,
    official_docx,
    official_pdf,
)
from tests.support.analysing import Analyser

MAT, TOI, TUYET = Classification.MAT, Classification.TOI_MAT, Classification.TUYET_MAT
RULES = markings.compile_rules(ClassificationSpec())

DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"

FILLER = "\n".join(f"{n}. Các đơn vị thực hiện nội dung công việc số {n} đúng tiến độ." for n in
                   range(1, 9))
HEAD = "UBND TỈNH THỪA THIÊN HUẾ\nVĂN PHÒNG\nCỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM\n" \
       "Độc lập - Tự do - Hạnh phúc\nKẾ HOẠCH\nTriển khai Chỉ thị 77/CT-UBND\n"

# Lower-case "mật" that is not a stamp: wrapped sentences, running text.
WRAPPED: list[str] = [
    HEAD + FILLER + "\n9. Gửi, nhận văn bản qua thư điện tử công vụ (trừ văn bản\nmật).",
    HEAD + "Gửi văn bản qua hệ thống (trừ văn bản\nmật).\n" + FILLER,
    "Gửi văn bản qua hệ thống (trừ văn bản\nmật).",
    HEAD + FILLER + "\nKhông gửi qua thư điện tử các tài liệu\nmật.",
    "Không gửi qua thư điện tử các tài liệu\nmật.",
    HEAD + FILLER + "\nCác tài liệu sau đây là\nmật\nvà phải được bảo quản.",
    HEAD + FILLER + "\nDanh mục hồ sơ\nTối mật\n",
    HEAD + FILLER + "\nCác văn bản (mật) phải được vào sổ riêng.",
    HEAD + FILLER + "\nTài liệu [tối mật] không được sao chụp.",
    "Không gửi tài liệu (tuyệt\nmật).",
    "Số: 12/KH-UBND\nGửi nhận văn bản qua thư điện tử (trừ văn bản\nmật).",
    "Kính gửi anh chị,\nBáo cáo (trừ phần\nmật), gửi kèm.",
]

# Stamps that must still be found, with their degree.
KEPT: list[tuple[str, Classification]] = [
    ("Mật\n" + HEAD + FILLER, MAT),
    ("Tối mật\n" + HEAD + FILLER, TOI),
    (HEAD.replace("KẾ HOẠCH", "Tuyệt mật\nKẾ HOẠCH") + FILLER, TUYET),
    ("UBND TỈNH\n" + FILLER + "\nSố: 12/KH-CAT\nMật\n" + FILLER, MAT),
    (FILLER + "\nMật\nSố: 15/BC-UBND\n" + FILLER, MAT),
    (FILLER + "\nSố 15/BC-UBND\n(Tối mật)\n" + FILLER, TOI),
    (HEAD + FILLER + "\nMẬT", MAT),
    (HEAD + FILLER + "\nPhụ lục kèm theo\nTỐI MẬT\n", TOI),
    (HEAD + FILLER + "\nMẬT).", MAT),
    (HEAD + FILLER + "\nXin gửi anh bản [TỐI MẬT] để góp ý", TOI),
    (HEAD + FILLER + "\nM Ậ T", MAT),
    (HEAD + FILLER + "\nT U Y Ệ T  M Ậ T", TUYET),
    (HEAD + FILLER + "\n| Số | Nội dung | MẬT |", MAT),
    ("Fwd: [KHẨN] (Mật) Kế hoạch bảo vệ", MAT),
    ("RE: [Tối mật] Phương án", TOI),
    ("(Tuyệt mật) Đề án", TUYET),
]


@pytest.mark.parametrize("text", WRAPPED)
def test_lower_case_outside_a_stamp_layout_is_no_stamp(text: str) -> None:
    scan = markings.scan_text(text, "body", RULES)
    assert scan.level is None, scan.markings
    assert markings.scan_text(unicodedata.normalize("NFD", text), "body", RULES).level is None


@pytest.mark.parametrize(("text", "level"), KEPT)
def test_stamps_in_their_layout_are_kept(text: str, level: Classification) -> None:
    assert markings.scan_text(text, "body", RULES).level == level
    assert markings.scan_text(unicodedata.normalize("NFD", text), "body", RULES).level == level


@pytest.mark.parametrize(
    ("subject", "level"),
    [("Mật", MAT), ("Tối mật", TOI), ("[Mật] Báo cáo", MAT), ("Fw: (Tuyệt mật) Đề án", TUYET),
     ("Báo cáo (trừ văn bản mật).", None), ("Hỏi về văn bản (mật)", None),
     ("Fwd: Tối mật", TOI), ("Re: Tối mật", TOI), ("TL: Tuyệt mật", TUYET),
     ("FW: Tối mật", TOI), ("Fwd: Fwd: Mật", MAT), ("Fwd: [KHẨN] Tối mật", TOI)],
)
def test_subject_layout(subject: str, level: Classification | None) -> None:
    assert markings.scan_subject(subject, "subject", RULES).level == level


ZWSP, SHY, ZWJ, BOM, WJ, ZWNJ = "\u200b", "\u00ad", "\u200d", "\ufeff", "\u2060", "\u200c"
CYR_M, CYR_A, CYR_T, CYR_O, CYR_I = "\u041c", "\u0410", "\u0422", "\u041e", "\u0406"
GR_M, GR_T, GR_A, GR_O, GR_I = "\u039c", "\u03a4", "\u0391", "\u039f", "\u0399"
DOT_BELOW, CIRCUMFLEX, ACUTE = "\u0323", "\u0302", "\u0301"

# Stamps hidden with invisible or look-alike characters.
HIDDEN: list[tuple[str, Classification]] = [
    (f"[M{ZWSP}ẬT] Báo cáo", MAT),
    (f"M{SHY}Ậ{SHY}T", MAT),
    (f"[TỐ{ZWJ}I MẬ{ZWNJ}T] Kế hoạch", TOI),
    (f"{BOM}TUYỆT MẬT", TUYET),
    (f"T{WJ}Ố{WJ}I M{WJ}Ậ{WJ}T", TOI),
    (f"[{CYR_M}Ậ{CYR_T}] Báo cáo", MAT),
    (f"[{GR_M}Ậ{GR_T}] Báo cáo", MAT),
    (f"({CYR_T}Ố{CYR_I} {CYR_M}Ậ{CYR_T})", TOI),
    (f"({GR_T}Ố{GR_I} {GR_M}Ậ{GR_T})", TOI),
    (f"[{CYR_M}{CYR_A}{CIRCUMFLEX}{DOT_BELOW}{CYR_T}]", MAT),
    (f"[{GR_M}{GR_A}{CIRCUMFLEX}{DOT_BELOW}{GR_T}]", MAT),
    (f"[T{CYR_O}{CIRCUMFLEX}{ACUTE}I MẬT]", TOI),
    (f"[T{GR_O}{CIRCUMFLEX}{ACUTE}{GR_I} MẬT]", TOI),
    ("[ＭẬＴ] Báo cáo", MAT),
    (f"{CYR_M}{ZWSP}Ậ{SHY}{GR_T}", MAT),
]

# Ordinary Vietnamese sentences (and other scripts) that must stay ordinary after the folding.
ORDINARY: list[str] = [
    "Mật khẩu của bạn sẽ hết hạn sau 7 ngày",
    "Giữ bí mật thông tin khách hàng",
    "MẬT ONG HUẾ",
    "Mật độ dân số tại thành phố Huế năm 2024",
    "Thư thân mật gửi các bạn đồng nghiệp",
    "Không gửi tài liệu tối mật qua thư điện tử",
    "BẢO MẬT THÔNG TIN",
    "Mặt trận Tổ quốc Việt Nam tỉnh Thừa Thiên Huế",
    "Buổi tối mát mẻ ở Huế",
    "Ủy ban nhân dân tỉnh Thừa Thiên Huế trân trọng kính mời",
    "Cộng hòa xã hội chủ nghĩa Việt Nam",
    "Độc lập - Tự do - Hạnh phúc",
    "Đoàn kiểm tra làm việc với Sở Tài chính",
    "Thời tiết Huế hôm nay: nắng nhẹ, nhiệt độ 30°C",
    "Nghị định số 30/2020/NĐ-CP về công tác văn thư",
    "Kế hoạch tổ chức Festival Huế 2024 — chào mừng",
    "Ông Nguyễn Văn Mạnh, Trưởng phòng Tổ chức",
    f"Báo cáo{ZWSP} tổng hợp{SHY} quý III",
    "Привет, это мат в два хода",
    "Шахматы: мат королю",
    "Η ομάδα ΜΑΘ συνεδριάζει",
    "ΤΟ ΜΑΤΙ ΤΟΥ ΘΕΟΥ",
    "Tài liệu của МТ Group",
    "Mật\u200bkhẩu mới là 123456",
    f"M{ZWSP}ẬT ONG HUẾ",
]


@pytest.mark.parametrize(("text", "level"), HIDDEN)
def test_hidden_stamps_are_found_everywhere(text: str, level: Classification) -> None:
    assert markings.scan_text(text, "body", RULES).level == level
    assert markings.scan_subject(text, "subject", RULES).level == level
    assert markings.scan_filename(text.replace(" ", "_") + ".pdf", "filename", RULES).level == level
    inner = re.search(r"[\[(]([^\])]*)[\])]", text)
    value = inner.group(1) if inner else text
    assert markings.scan_header("X-Classification", value, RULES).level == level


@pytest.mark.parametrize("text", ORDINARY)
def test_ordinary_sentences_stay_ordinary(text: str) -> None:
    assert markings.scan_text(text, "body", RULES).level is None
    assert markings.scan_subject(text, "subject", RULES).level is None


def wrapped_plan() -> bytes:
    body = ("9. Gửi, nhận văn bản qua thư điện tử công vụ (trừ văn bản", "mật).",
            "10. Các đơn vị báo cáo kết quả trước ngày 15/12.")
    filler = tuple(f"{n}. Các đơn vị thực hiện nội dung số {n} đúng tiến độ." for n in range(1, 9))
    return official_pdf(OfficialPaper(number="45/KH-UBND", title="KẾ HOẠCH", body=filler + body))


def test_pdf_quoting_the_directive_is_not_classified(analysed: Analyser) -> None:
    msg = message(subject="Kế hoạch triển khai Chỉ thị 77",
                  attachments=[Attachment("Ke hoach.pdf", wrapped_plan())])
    analysis = analysed(msg)
    assert analysis.documents[-1].doc_type != "other" or analysis.documents[-1].markings == ()
    assert analysis.classification is None, analysis.markings


@pytest.mark.parametrize(("stamp", "level"), [("Mật", MAT), ("Tối mật", TOI),
                                              (f"{CYR_M}{ZWSP}Ậ{GR_T}", MAT)])
def test_pdf_stamp_in_its_place_is_found(analysed: Analyser, stamp: str, level: Classification
                                         ) -> None:
    pdf = official_pdf(OfficialPaper(number="45/KH-CAT", title="KẾ HOẠCH", stamp=stamp))
    analysis = analysed(message(attachments=[Attachment("Ke hoach.pdf", pdf)]))
    assert analysis.classification == level


@pytest.mark.parametrize(
    ("header", "lines", "level"),
    [(["Mật"], ["UBND TỈNH THỪA THIÊN HUẾ", "Số: 12/KH-UBND", "KẾ HOẠCH"], MAT),
     ([], ["UBND TỈNH THỪA THIÊN HUẾ", "Số: 12/KH-UBND", "Tối mật", "KẾ HOẠCH"], TOI),
     ([], [*FILLER.splitlines(), "Phụ lục", "TUYỆT MẬT"], TUYET),
     ([], [*FILLER.splitlines(), "9. Gửi văn bản qua thư điện tử (trừ văn bản", "mật)."], None),
     ([], [*FILLER.splitlines(), "Danh mục hồ sơ", "mật"], None)],
    ids=["page-header", "beside-number", "upper-case-anywhere", "wrapped", "lower-case-deep"],
)
def test_docx_stamp_layouts(
    analysed: Analyser, header: list[str], lines: list[str], level: Classification | None
) -> None:
    docx = official_docx(lines, header_lines=header)
    analysis = analysed(message(attachments=[Attachment("Ke hoach.docx", docx, DOCX)]))
    assert analysis.classification == level, analysis.markings
