"""Header fields decoded for the policies, with their problems."""

from __future__ import annotations

import pytest

import gateway.analysis.headers as headers_module
import gateway.mail.addresses as addresses_module
from gateway.analysis.headers import KEPT_FIELD_LENGTH, read_headers
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


@pytest.mark.parametrize("field", ["Van thu UBND <vanthu@thuathienhue.gov.vn.>",
                                   "<vanthu@thuathienhue..gov.vn>",
                                   "vanthu@thuathienhue.gov.vn.."])
def test_a_domain_with_stray_dots_is_read_as_readers_take_it(field: str) -> None:
    """The parser refuses `a@hue.gov.vn.`: the From had no address, and a forged official
    sender was only tagged; a reader shows and replies to the official domain."""
    headers = read_headers(parse(raw_message(f"From: {field}\nSubject: s", b"body\r\n")))
    assert [a.addr_spec for a in headers.from_addresses] == ["vanthu@thuathienhue.gov.vn"]
    assert any("stray dots" in problem for problem in headers.problems)


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


def test_an_address_field_seen_before_reads_the_same_with_its_problems(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A correspondent's fields are parsed once per process: the next message with the same
    field gets the same mailboxes and the same problems, without another parse; a field
    longer than the kept length is parsed every time."""
    headers_module._kept_mailboxes.cache_clear()
    calls: list[str] = []
    original = addresses_module.parse_address_list
    monkeypatch.setattr(addresses_module, "parse_address_list",
                        lambda raw: calls.append(raw) or original(raw))
    head = ('From: "vanphong@thuathienhue.gov.vn" <attacker-{n}@gmail.com>\n'
            "To: eve@x <manager@hue.gov.vn>")
    first = headers_of(head.format(n=1))
    parsed_first = len(calls)
    again = headers_of(head.format(n=1))
    assert len(calls) == parsed_first
    assert again == first
    assert {"from: display name contains another address",
            "to: display name with special characters not quoted"} <= set(again.problems)
    assert again.to[0].addr_spec == "manager@hue.gov.vn"
    assert headers_of(head.format(n=2)).from_addresses[0].addr_spec == "attacker-2@gmail.com"
    many = "To: " + ", ".join(f"r{n}@hue.gov.vn" for n in range(60))
    assert len(many) > KEPT_FIELD_LENGTH
    before = len(calls)
    assert len(headers_of(many).to) == len(headers_of(many).to) == 60
    assert len(calls) - before >= 2


def test_encoded_words_written_again_are_decoded_once_with_each_fields_problems(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The same encoded text in another message, or under another field, is decoded once
    per process, and each field still gets its own problems; a value longer than the kept
    length is decoded every time."""
    headers_module._kept_decoded.cache_clear()
    calls: list[str] = []
    original = headers_module.decode_unstructured
    monkeypatch.setattr(headers_module, "decode_unstructured",
                        lambda raw: calls.append(raw) or original(raw))
    word = "=?x-unknown?q?M=E1=BA=ACT?= =?utf-8?q?Gi=E1=BA=A5y_m=E1=BB=9Di?="
    first = headers_of(f"Subject: {word}\nComments: {word}")
    again = headers_of(f"Subject: {word}\nComments: {word}")
    assert calls == [word]
    assert again == first
    assert {"subject: encoded word in unknown charset 'x-unknown'",
            "comments: encoded word in unknown charset 'x-unknown'"} <= set(again.problems)
    assert again.subject.endswith("Giấy mời")
    broken = "=?utf-8?q?a=0Ab?="
    for _ in range(2):
        assert "subject: encoded words decode to line breaks or NUL" in headers_of(
            f"Subject: {broken}").problems
    long_subject = " ".join([word] * 8)
    assert len(long_subject) > KEPT_FIELD_LENGTH
    before = len(calls)
    assert headers_of(f"Subject: {long_subject}") == headers_of(f"Subject: {long_subject}")
    assert len(calls) - before == 2


def test_an_unparsable_address_field_stays_a_problem_every_time(
        monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(raw: str) -> object:
        raise ValueError(raw)

    headers_module._kept_mailboxes.cache_clear()
    monkeypatch.setattr(addresses_module, "parse_address_list", refuse)
    for _ in range(2):
        headers = headers_of("From: unusual-7@x.vn")
        assert headers.from_addresses == ()
        assert "from: unparsable address list" in headers.problems
