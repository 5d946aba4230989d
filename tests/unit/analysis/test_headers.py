"""Header fields decoded for the policies, with their problems."""

from __future__ import annotations

from gateway.analysis.headers import read_headers
from gateway.analysis.parsing import parse
from tests.fixtures.documents import raw_message


def headers_of(head: str) -> object:
    return read_headers(parse(raw_message(head, b"body\r\n")))


def test_addresses_are_decoded_and_domains_canonical() -> None:
    headers = read_headers(parse(raw_message(
        "From: =?utf-8?b?VsSDbiBQaMOybmcgVUJORA==?= <Van.Phong@ThuaThienHue.GOV.VN>\n"
        "Sender: <gui@xn--hu-07s.vn>\nReply-To: a@b.vn, c@d.vn\n"
        "To: \"Phòng B\" <b@hue.gov.vn>\nCc: c@hue.gov.vn\n"
        "Subject: =?utf-8?q?Gi=E1=BA=A5y_m=E1=BB=9Di?=\n"
        "Auto-Submitted: auto-forwarded\nX-Forwarded-For: x@y.vn\nMessage-ID: <1@x>",
        b"body\r\n")))
    sender = headers.from_addresses[0]
    assert (sender.display_name, sender.domain) == ("Văn Phòng UBND", "thuathienhue.gov.vn")
    assert sender.addr_spec == "Van.Phong@thuathienhue.gov.vn"
    assert headers.sender is not None and headers.sender.domain == "huế.vn"
    assert [a.addr_spec for a in headers.reply_to] == ["a@b.vn", "c@d.vn"]
    assert headers.to[0].display_name == "Phòng B" and headers.cc[0].domain == "hue.gov.vn"
    assert headers.subject == "Giấy mời"
    assert headers.auto_submitted == "auto-forwarded"
    assert headers.forwarding_markers == ("auto-submitted: auto-forwarded", "x-forwarded-for")
    assert headers.message_id == "<1@x>"
    assert headers.problems == ()


def test_several_from_fields_and_no_from() -> None:
    several = read_headers(parse(raw_message("From: a@x.vn\nFrom: b@y.vn\nSubject: s", b"")))
    assert any("several From header fields" in p for p in several.problems)
    missing = read_headers(parse(raw_message("Subject: s", b"")))
    assert "from: no From header field" in missing.problems
    mailboxes = read_headers(parse(raw_message("From: a@x.vn, b@y.vn", b"")))
    assert "from: several mailboxes" in mailboxes.problems


def test_display_name_hiding_another_address() -> None:
    headers = read_headers(parse(raw_message(
        'From: "vanphong@thuathienhue.gov.vn" <attacker@gmail.com>', b"")))
    assert "from: display name contains another address" in headers.problems


def test_undecodable_words_are_problems() -> None:
    unknown = read_headers(parse(raw_message("From: a@x.vn\nSubject: =?x-unknown?q?abc?=", b"")))
    assert unknown.subject == "abc"
    assert "subject: encoded word in unknown charset 'x-unknown'" in unknown.problems
    broken = read_headers(parse(raw_message("From: a@x.vn\nSubject: =?utf-8?q?caf=C3?=", b"")))
    assert "subject: undecodable encoded word (not valid utf-8)" in broken.problems
    fine = read_headers(parse(raw_message("From: a@x.vn\nSubject: =?utf-8?b?w6k=?= ok", b"")))
    assert (fine.subject, fine.problems) == ("é ok", ())


def test_fields_keep_every_header_in_order() -> None:
    headers = read_headers(parse(raw_message(
        "From: a@x.vn\nX-Classification: TOI_MAT\nSubject: s", b"")))
    assert [name for name, _ in headers.fields] == ["from", "x-classification", "subject"]
