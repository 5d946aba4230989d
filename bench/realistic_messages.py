"""Realistic messages for the benchmarks, built by code (no random bytes named .pdf).

  letter()                an ~8.5 KB citizen's letter in Vietnamese, text and HTML parts in
                          base64-encoded UTF-8 (as webmail and phone clients send it)
  letter_with_pdf()       the same letter with a real ~80 KB text PDF (an "ĐƠN KIẾN NGHỊ"
                          typeset with reportlab and the DejaVu fonts): ~115 KB on the wire
  letter_with_scan()      the same letter with a scanned PDF (one image-only page of
                          incompressible grey image data): ~2 MB on the wire
  invitation(pdf)         a partner's GIẤY MỜI ("Số: 45/GM-ĐHH") signed with pyHanko by a
                          certificate of the fixture PKI: ~96 KB on the wire
  invitations(pki, n)     n invitations, each a different signed document (its own number)
  quarantine_bait(pki)    the invitation with random bytes named .pdf as an annex: the
                          default policy holds it (uninspectable), the quarantine path
Every message is addressed from a citizen or partner outside the agencies' networks to an
official mailbox, the way smtp-source delivers it from 127.0.0.1 (direction: inbound).
"""

from __future__ import annotations

import io
import random
from datetime import UTC, datetime
from email import policy
from email.message import EmailMessage
from email.utils import format_datetime
from functools import cache
from pathlib import Path

from reportlab.lib.pagesizes import A4
from reportlab.pdfgen.canvas import Canvas

from tests.fixtures.documents import OfficialPaper, official_pdf, scanned_pdf
from tests.fixtures.pki import Pki
from tests.fixtures.signed import sign_pdf, signer_for

FONTS = Path("/usr/share/fonts/truetype/dejavu")
CITIZEN = "nguyenthilan.hue@gmail.com"
CITIZEN_NAME = "Nguyễn Thị Lan"
PARTNER = "vanphong@husc.edu.vn"
PARTNER_NAME = "Văn phòng Trường Đại học Khoa học"
OFFICIAL = "vanthu@thuathienhue.gov.vn"
DATE = datetime(2024, 10, 14, 8, 30, tzinfo=UTC)

PARAGRAPHS = (
    "Kính gửi: Ủy ban nhân dân tỉnh Thừa Thiên Huế và Văn phòng tiếp công dân tỉnh.",
    "Tôi tên là Nguyễn Thị Lan, sinh năm 1978, thường trú tại tổ 5, phường An Cựu, "
    "thành phố Huế. Tôi viết thư này để trình bày về việc cấp giấy chứng nhận quyền sử "
    "dụng đất cho thửa đất số 112, tờ bản đồ số 7 mà gia đình tôi đã sử dụng ổn định từ "
    "năm 1995 đến nay, không có tranh chấp với các hộ liền kề.",
    "Ngày 3 tháng 4 năm 2024, tôi đã nộp đầy đủ hồ sơ tại bộ phận một cửa của phường, "
    "gồm đơn đề nghị, bản sao căn cước công dân, sổ hộ khẩu, biên lai nộp thuế đất các năm "
    "và xác nhận của tổ dân phố. Cán bộ tiếp nhận hẹn sau ba mươi ngày làm việc sẽ có kết "
    "quả, nhưng đến nay đã hơn sáu tháng gia đình tôi vẫn chưa nhận được trả lời.",
    "Tôi đã nhiều lần đến hỏi nhưng chỉ được trả lời là hồ sơ đang chờ ý kiến của phòng "
    "Tài nguyên và Môi trường thành phố. Việc chậm trễ này ảnh hưởng lớn đến đời sống của "
    "gia đình: chúng tôi cần giấy chứng nhận để vay vốn sửa lại căn nhà đã xuống cấp sau "
    "đợt lũ tháng 11 năm ngoái, khi nước ngập sâu hơn một mét trong nhà.",
    "Kính đề nghị Ủy ban nhân dân tỉnh xem xét, chỉ đạo các cơ quan có liên quan giải quyết "
    "hồ sơ của gia đình tôi theo đúng quy định, hoặc cho tôi biết rõ còn thiếu giấy tờ gì "
    "để tôi bổ sung kịp thời. Nếu cần, tôi sẵn sàng đến làm việc trực tiếp vào bất kỳ ngày "
    "nào trong tuần.",
    "Tôi xin cam đoan những nội dung trình bày trên là đúng sự thật và chịu trách nhiệm "
    "trước pháp luật về lời trình bày của mình. Kèm theo thư này là bản chụp giấy biên nhận "
    "hồ sơ và các giấy tờ liên quan.",
    "Gia đình tôi cũng xin phản ánh thêm: con đường kiệt dẫn vào khu dân cư tổ 5 bị sụt lún "
    "sau mùa mưa, nhiều đoạn đọng nước, người già và học sinh đi lại rất khó khăn. Kính mong "
    "Quý cơ quan quan tâm chỉ đạo sửa chữa trước mùa mưa bão năm nay.",
    "Xin trân trọng cảm ơn và mong sớm nhận được phản hồi của Quý cơ quan.",
)
SIGNATURE = ("Người viết thư", "Nguyễn Thị Lan", "Điện thoại: 0905 123 456",
             "Địa chỉ: 27 Hùng Vương, phường An Cựu, thành phố Huế")


def _text() -> str:
    return "\n\n".join(PARAGRAPHS) + "\n\n" + "\n".join(SIGNATURE) + "\n"


def _html() -> str:
    body = "".join(f'<p style="margin:0 0 12px 0">{paragraph}</p>' for paragraph in PARAGRAPHS)
    signed = "<br>".join(SIGNATURE)
    return (
        '<div dir="ltr"><div style="font-family:arial,sans-serif;font-size:14px;'
        f'color:#222222">{body}<p><i>{signed}</i></p></div>'
        '<div><br></div><div>-- <br><div dir="ltr" class="gmail_signature">'
        f"{CITIZEN_NAME}<br>{SIGNATURE[2]}</div></div></div>\n"
    )


def _head(msg: EmailMessage, sender: str, name: str, subject: str, tag: str) -> None:
    msg["Received"] = ("from mail-pj1-f41.google.com (mail-pj1-f41.google.com [209.85.216.41]) "
                       "by mx.thuathienhue.gov.vn with ESMTPS id 4XP2m81Zq1z9sTt; "
                       + format_datetime(DATE))
    msg["From"] = f"{name} <{sender}>"
    msg["To"] = OFFICIAL
    msg["Subject"] = subject
    msg["Date"] = format_datetime(DATE)
    msg["Message-ID"] = f"<CAF3{tag}x7Lq2+Vb9mN0kT@mail.gmail.com>"


def _letter_message(tag: str) -> EmailMessage:
    """The letter as a multipart/alternative of text and HTML, both base64 UTF-8."""
    msg = EmailMessage(policy=policy.SMTP)
    _head(msg, CITIZEN, CITIZEN_NAME,
          "Kiến nghị về việc chậm cấp giấy chứng nhận quyền sử dụng đất", tag)
    msg.set_content(_text(), cte="base64")
    msg.add_alternative(_html(), subtype="html", cte="base64")
    return msg


def _wire(msg: EmailMessage) -> bytes:
    return msg.as_bytes(policy=policy.SMTP)


def letter() -> bytes:
    """The citizen's letter alone (about 8.5 KB)."""
    return _wire(_letter_message("letter"))


def _with_attachment(data: bytes, filename: str, tag: str) -> bytes:
    msg = _letter_message(tag)
    msg.make_mixed()
    msg.add_attachment(data, maintype="application", subtype="pdf", filename=filename)
    return _wire(msg)


@cache
def _fonts() -> None:
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont

    pdfmetrics.registerFont(TTFont("DejaVuSerif", str(FONTS / "DejaVuSerif.ttf")))
    pdfmetrics.registerFont(TTFont("DejaVuSerif-Bold", str(FONTS / "DejaVuSerif-Bold.ttf")))


def _lines(text: str, width: int = 88) -> list[str]:
    """`text` broken into lines of at most `width` characters, at spaces."""
    lines: list[str] = []
    for paragraph in text.split("\n"):
        line = ""
        for word in paragraph.split():
            if line and len(line) + 1 + len(word) > width:
                lines.append(line)
                line = word
            else:
                line = f"{line} {word}".strip()
        lines.append(line)
    return lines


def petition_pdf(pages: int = 14) -> bytes:
    """A citizen's typed petition (ĐƠN KIẾN NGHỊ), text only, `pages` A4 pages."""
    _fonts()
    buffer = io.BytesIO()
    pdf = Canvas(buffer, pagesize=A4)
    width, height = A4
    text = _lines("\n".join(PARAGRAPHS[1:]))
    for page in range(pages):
        y = height - 60
        if page == 0:
            pdf.setFont("DejaVuSerif-Bold", 12)
            pdf.drawCentredString(width / 2, y, "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM")
            pdf.drawCentredString(width / 2, y - 16, "Độc lập - Tự do - Hạnh phúc")
            pdf.setFont("DejaVuSerif-Bold", 15)
            pdf.drawCentredString(width / 2, y - 56, "ĐƠN KIẾN NGHỊ")
            y -= 90
        pdf.setFont("DejaVuSerif", 11)
        row = page * 7
        while y > 60:
            pdf.drawString(60, y, text[row % len(text)])
            row += 1
            y -= 15
        pdf.drawCentredString(width / 2, 30, f"Trang {page + 1}/{pages}")
        pdf.showPage()
    pdf.save()
    return buffer.getvalue()


def letter_with_pdf() -> bytes:
    """The letter with the typed petition attached (about 115 KB)."""
    return _with_attachment(petition_pdf(), "Đơn kiến nghị - Nguyễn Thị Lan.pdf", "pdf")


def letter_with_scan(image_bytes: int = 1_050_000) -> bytes:
    """The letter with a scanned, image-only PDF (about 2 MB on the wire)."""
    return _with_attachment(scanned_pdf(image_bytes), "Biên nhận hồ sơ (bản scan).pdf", "scan")


def invitation_pdf(pki: Pki, number: int = 45, seal_bytes: int = 10_000) -> bytes:
    """A partner's GIẤY MỜI with an official number, its red seal an image, signed."""
    paper = OfficialPaper(number=f"{number}/GM-ĐHH",
                          issuer=("ĐẠI HỌC HUẾ", "TRƯỜNG ĐẠI HỌC KHOA HỌC"),
                          summary="V/v dự hội thảo chuyển đổi số",
                          noise_image_bytes=seal_bytes)
    return sign_pdf(official_pdf(paper), signer_for(pki.organisation))


def invitation(pdf: bytes, tag: str = "invite", annex: bytes | None = None) -> bytes:
    """A partner's message to an official mailbox carrying one signed invitation (and
    an annex, if given)."""
    msg = EmailMessage(policy=policy.SMTP)
    _head(msg, PARTNER, PARTNER_NAME, "Giấy mời dự hội thảo chuyển đổi số", tag)
    del msg["Received"]
    msg["Received"] = ("from mail.husc.edu.vn (mail.husc.edu.vn [203.162.0.11]) by "
                       "mx.thuathienhue.gov.vn with ESMTPS; " + format_datetime(DATE))
    msg.set_content("Kính gửi Văn phòng UBND tỉnh,\n\nTrường Đại học Khoa học trân trọng "
                    "gửi giấy mời dự hội thảo (đính kèm, đã ký số).\n\nTrân trọng.\n",
                    cte="base64")
    msg.add_attachment(pdf, maintype="application", subtype="pdf",
                       filename="Giấy mời hội thảo.pdf")
    if annex is not None:
        msg.add_attachment(annex, maintype="application", subtype="pdf", filename="Phụ lục.pdf")
    return _wire(msg)


def quarantine_bait(pki: Pki, size: int = 60_000) -> bytes:
    """The invitation with an annex of random bytes behind a PDF header: an official
    document travelling with something unreadable, which the default policy holds
    (uninspectable-official-documents). It measures the quarantine path."""
    junk = b"%PDF-1.7\n" + random.Random(14).randbytes(size)
    return invitation(invitation_pdf(pki), "bait", annex=junk)


def invitations(pki: Pki, count: int) -> list[bytes]:
    """`count` messages, each with a different signed invitation (numbers 100, 101, ...)."""
    return [invitation(invitation_pdf(pki, 100 + n), f"invite{n}") for n in range(count)]
