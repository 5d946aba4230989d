"""Legacy Vietnamese encodings recognised and converted; other text left alone."""

from __future__ import annotations

import pytest

from gateway.analysis.legacy import (
    decode_text,
    is_vietnamese_syllable,
    repair_text,
    tcvn3_to_unicode,
    vni_to_unicode,
)
from gateway.analysis.markings import compile_rules, scan_text
from gateway.analysis.model import Classification
from gateway.analysis.settings import ClassificationSpec
from tests.fixtures.documents import Attachment, message, raw_message
from tests.support.analysing import Analyser

MOTTO = "Cộng hòa xã hội chủ nghĩa Việt Nam"
# The same line as produced by each legacy encoding (bytes as the fonts store them).
TCVN3_TEXT = "Céng hoµ x· héi chñ nghÜa ViÖt Nam"
VNI_TEXT = "Coäng hoøa xaõ hoäi chuû nghóa Vieät Nam"
VISCII_BYTES = b"C\xb5ng h\xf2a x\xe3 h\xb5i ch\xfc ngh\xeea Vi\xaet Nam"
CP1258_BYTES = b"C\xf4\xf2ng ho\xcca xa\xde h\xf4\xf2i chu\xd2 nghi\xdea Vi\xea\xf2t Nam"


def test_tcvn3_text_is_converted() -> None:
    assert repair_text(TCVN3_TEXT) == ("Cộng hoà xã hội chủ nghĩa Việt Nam", "tcvn3")


def test_tcvn3_upper_case_font_gives_upper_case() -> None:
    assert tcvn3_to_unicode("MËT") == "MẬT"
    assert repair_text("CéNG HOµ X· HéI CHñ NGHÜA VIÖT NAM\nTèI MËT")[0].endswith("TỐI MẬT")


def test_vni_text_is_converted() -> None:
    assert repair_text(VNI_TEXT) == (MOTTO, "vni")
    assert vni_to_unicode("TOÁI MAÄT") == "TỐI MẬT"


def test_viscii_and_cp1258_bytes_are_decoded() -> None:
    assert decode_text(VISCII_BYTES, None) == (MOTTO, "viscii")
    assert decode_text(CP1258_BYTES, None) == (MOTTO, "windows-1258")
    assert decode_text(CP1258_BYTES, "windows-1258") == (MOTTO, "windows-1258")
    assert decode_text(VISCII_BYTES, "VISCII") == (MOTTO, "viscii")


@pytest.mark.parametrize(
    "text",
    ["Café crème brûlée à la française", "Müller Straße 5", "plain ASCII text", MOTTO,
     "Giấy mời họp giao ban – Số: 12/GM-UBND"],
)
def test_other_text_is_left_alone(text: str) -> None:
    assert repair_text(text) == (text, None)
    assert decode_text(text.encode("utf-8"), None) == (text, None)


def test_latin1_bytes_stay_latin1() -> None:
    text = "Café crème brûlée à la française"
    assert decode_text(text.encode("latin-1"), None) == (text, None)


@pytest.mark.parametrize(
    ("word", "valid"),
    [("nghiêng", True), ("khuỷu", True), ("Việt", True), ("hoà", True), ("hòa", True),
     ("Côòng", False), ("crème", False), ("Straße", False), ("chự", True), ("xở", True)],
)
def test_syllable_shape(word: str, valid: bool) -> None:
    assert is_vietnamese_syllable(word) == valid


def test_converted_text_feeds_the_marking_detector() -> None:
    rules = compile_rules(ClassificationSpec())
    text, _ = repair_text("UBND TØNH TH÷A THI£N HUÕ\nTèI MËT\nB¸O C¸O")
    assert scan_text(text, "x", rules).level == Classification.TOI_MAT


@pytest.mark.parametrize(
    "body",
    [
        "TèI MËT\r\n".encode("latin-1") + TCVN3_TEXT.encode("latin-1"),
        "TOÁI MAÄT\r\n".encode("latin-1") + VNI_TEXT.encode("latin-1"),
        b"T\xd4\xecI M\xc2\xf2T\r\n" + CP1258_BYTES,
    ],
    ids=["tcvn3", "vni", "cp1258"],
)
def test_undeclared_legacy_body_is_converted_before_scanning(
    analysed: Analyser, body: bytes
) -> None:
    head = "From: a@thuathienhue.gov.vn\nSubject: bao cao\nContent-Type: text/plain"
    analysis = analysed(raw_message(head, body))
    assert analysis.classification == Classification.TOI_MAT


def test_legacy_text_without_stamp_is_no_marking(analysed: Analyser) -> None:
    head = "From: a@thuathienhue.gov.vn\nSubject: bao cao\nContent-Type: text/plain"
    assert analysed(raw_message(head, VISCII_BYTES)).classification is None


def test_utf16_text_attachment(analysed: Analyser) -> None:
    attachment = Attachment("note.txt", "[MẬT] ghi chú".encode("utf-16"), "text/plain")
    msg = message(attachments=[attachment])
    msg.get_payload()[1].set_param("charset", "utf-16")
    assert analysed(msg).classification == Classification.MAT


def test_unicode_text_with_latin1_symbols_is_left_alone() -> None:
    text = "§ 1. Báo cáo kết quả © 2024 ± 5% ¼ · « trích » ° các đơn vị ¶ µ"
    assert repair_text(text) == (text, None)
    assert repair_text("§ 3 ° ª º ¹ ² ³ µ ¶ ©") == ("§ 3 ° ª º ¹ ² ³ µ ¶ ©", None)


def test_unicode_title_over_a_tcvn3_body_is_converted_line_by_line() -> None:
    text = "GIẤY MỜI\nCéng hoµ x· héi chñ nghÜa ViÖt Nam\nKÝnh göi c¸c së"
    assert repair_text(text) == (
        "GIẤY MỜI\nCộng hoà xã hội chủ nghĩa Việt Nam\nKính gửi các sở", "tcvn3")
