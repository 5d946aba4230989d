"""Office text wherever it stands: one case per place a stamp or a title can hide."""

from __future__ import annotations

import io
from collections.abc import Callable

import pytest

from gateway.analysis.extract.office import docx_text, ooxml_text
from gateway.analysis.model import Classification
from gateway.analysis.settings import AnalysisLimits
from tests.fixtures.documents import Attachment, message, zip_of
from tests.fixtures.office import (
    docx_package,
    drawing_text_box,
    odf_frame,
    odf_package,
    pptx_package,
    strict,
    vml_text_box,
    w_p,
    xlsx_package,
)
from tests.support.analysing import Analyser

BODY = w_p("Kính gửi các sở, ban, ngành") + w_p("Văn phòng trân trọng kính mời dự họp.")
ODT = "application/vnd.oasis.opendocument.text"
ODS = "application/vnd.oasis.opendocument.spreadsheet"
ODP = "application/vnd.oasis.opendocument.presentation"


def _odf_text(*paragraphs: str) -> str:
    return f"<office:text>{''.join(paragraphs)}</office:text>"


STAMP_PLACES: dict[str, tuple[str, Callable[[], bytes]]] = {
    "docx VML text box": ("a.docx", lambda: docx_package(BODY + vml_text_box(w_p("MẬT")))),
    "docx DrawingML text box": ("a.docx", lambda: docx_package(
        BODY + drawing_text_box(w_p("MẬT")))),
    "docx All Caps run in a text box": ("a.docx", lambda: docx_package(
        BODY + drawing_text_box(w_p("^mật")))),
    "docx stamp split over runs": ("a.docx", lambda: docx_package(w_p("M", "Ậ", "T") + BODY)),
    "docx first-page header": ("a.docx", lambda: docx_package(
        BODY, {"header1": w_p(""), "header2": w_p("MẬT")})),
    "docx footer": ("a.docx", lambda: docx_package(BODY, {"footer1": w_p("MẬT")})),
    "docx footnote": ("a.docx", lambda: docx_package(BODY, {"footnotes": w_p("MẬT")})),
    "docx endnote": ("a.docx", lambda: docx_package(BODY, {"endnotes": w_p("MẬT")})),
    "docx comment": ("a.docx", lambda: docx_package(BODY, {"comments": w_p("MẬT")})),
    "xlsx inline string": ("a.xlsx", lambda: xlsx_package(inline=("MẬT", "Danh sách"))),
    "xlsx shared string": ("a.xlsx", lambda: xlsx_package(shared=("MẬT",))),
    "xlsx sheet header": ("a.xlsx", lambda: xlsx_package(
        inline=("Danh sách",), header='&L&"Times New Roman,Bold"MẬT&RTrang &P')),
    "xlsx cell comment": ("a.xlsx", lambda: xlsx_package(inline=("x",), comment="MẬT")),
    "pptx twelfth slide": ("a.pptx", lambda: pptx_package([["Mở đầu"]] * 11 + [["M", "ẬT"]])),
    "pptx speaker notes": ("a.pptx", lambda: pptx_package([["Mở đầu"]], {1: "MẬT"})),
    "odt frame": ("a.odt", lambda: odf_package(ODT, _odf_text(
        "<text:p>Kính gửi</text:p>", odf_frame("MẬT")))),
    "odt page header": ("a.odt", lambda: odf_package(
        ODT, _odf_text("<text:p>Kính gửi</text:p>"), page_header="MẬT")),
    "ods cell": ("a.ods", lambda: odf_package(ODS, (
        "<office:spreadsheet><table:table><table:table-row><table:table-cell><text:p>MẬT"
        "</text:p></table:table-cell></table:table-row></table:table></office:spreadsheet>"))),
    "odp frame": ("a.odp", lambda: odf_package(ODP, (
        "<office:presentation><draw:page>" + odf_frame("MẬT") + "</draw:page>"
        "</office:presentation>"))),
}


@pytest.mark.parametrize("place", list(STAMP_PLACES))
def test_stamp_is_found_wherever_the_package_keeps_text(analysed: Analyser, place: str) -> None:
    filename, build = STAMP_PLACES[place]
    analysis = analysed(message(attachments=[
        Attachment(filename, build(), "application/octet-stream")]))
    document = next(d for d in analysis.documents if d.filename == filename)
    assert document.uninspectable is None
    assert document.classification == Classification.MAT, place


@pytest.mark.parametrize("place", [
    "docx first-page header", "docx DrawingML text box", "docx All Caps run in a text box",
    "xlsx shared string", "xlsx sheet header", "pptx speaker notes",
])
def test_strict_open_xml_is_read_like_transitional(analysed: Analyser, place: str) -> None:
    """Word, Excel and PowerPoint save "Strict Open XML" with other namespaces: its text,
    stamp and title included, was not read at all, and a stamped document was relayed."""
    filename, build = STAMP_PLACES[place]
    analysis = analysed(message(attachments=[
        Attachment(filename, strict(build()), "application/octet-stream")]))
    document = next(d for d in analysis.documents if d.filename == filename)
    assert document.classification == Classification.MAT, place


def test_strict_word_document_from_python_docx_keeps_its_title_and_stamp(
        analysed: Analyser) -> None:
    from docx import Document

    word = Document()
    word.sections[0].header.paragraphs[0].text = "TỐI MẬT"
    word.add_paragraph("GIẤY MỜI")
    word.add_paragraph("Sở Nội vụ trân trọng kính mời dự họp.")
    buffer = io.BytesIO()
    word.save(buffer)
    attachment = Attachment("a.docx", strict(buffer.getvalue()), "application/octet-stream")
    document = next(d for d in analysed(message(attachments=[attachment])).documents
                    if d.filename == "a.docx")
    assert (document.classification, document.doc_type) == (Classification.TOI_MAT, "giay_moi")


def test_title_in_a_text_box_gives_the_document_type(analysed: Analyser) -> None:
    docx = docx_package(drawing_text_box(w_p("GIẤY MỜI")) + BODY)
    attachment = Attachment("x.docx", docx, "application/octet-stream")
    analysis = analysed(message(attachments=[attachment]))
    document = next(d for d in analysis.documents if d.filename == "x.docx")
    assert document.doc_type == "giay_moi" and document.classification is None


def test_text_box_is_its_own_line_not_run_into_its_host() -> None:
    host = ("<w:p><w:r><w:t>Trích yếu</w:t></w:r><w:r><w:pict><v:textbox><w:txbxContent>"
            + w_p("MẬT") + "</w:txbxContent></v:textbox></w:pict></w:r></w:p>")
    text = docx_text(docx_package(host), AnalysisLimits()).text
    assert text.splitlines() == ["Trích yếu", "MẬT"]


def test_spreadsheet_header_codes_are_not_read_as_text() -> None:
    text = ooxml_text(xlsx_package(header='&C&"Arial,Bold"&14MẬT'), AnalysisLimits(), "XLSX").text
    assert "MẬT" in text.split() and "&" not in text


def test_reading_stops_at_the_character_limit() -> None:
    slides = [["Nội dung trình chiếu số " + str(n) * 50] for n in range(200)]
    limits = AnalysisLimits(text_chars=2000)
    assert len(ooxml_text(pptx_package(slides), limits, "PPTX").text) == 2000


def test_part_declaring_a_dtd_is_refused() -> None:
    hostile = zip_of({"word/document.xml": b'<!DOCTYPE x [<!ENTITY a "b">]><x>&a;</x>'})
    assert "DTD" in (docx_text(hostile, AnalysisLimits()).uninspectable or "")
