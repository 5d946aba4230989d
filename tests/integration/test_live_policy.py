"""The official-domain rules through the live gateway: real sockets, real upstream sink.

One gateway for the module, loading a copy of the default policies plus two
test rules (`LIVE_RULES`): a freemail recipient refused at RCPT time from one
test network, and a monitor-mode rule.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from email import message_from_bytes, policy

import pytest

from tests.fixtures.documents import Attachment, message, official_pdf, to_bytes
from tests.support.live import (
    INSIDE_IP,
    OUTSIDE_IP,
    Live,
    arrivals,
    live_with_rules,
    rule_hits,
    send,
)

OFFICIAL = "van.a@thuathienhue.gov.vn"
COLLEAGUE = "phong.b@sotttt.thuathienhue.gov.vn"
CITIZEN = "nguoidan@gmail.com"
RCPT_TEST_IP = "10.99.1.1"
DIRECTIVE = "77/2014/CT-UBND"
LIVE_RULES = """
networks:
  rcpt_test_network:
    description: the network whose mail is judged by live-freemail-recipient-at-rcpt
    networks: [10.99.0.0/16]
lists:
  canary_senders:
    description: the senders live-monitor-envelope watches
    addresses: [canary@thuathienhue.gov.vn]
rules:
  - name: live-freemail-recipient-at-rcpt
    description: test rule, an envelope-only refusal decided at RCPT time
    when:
      client_network: {in: rcpt_test_network}
      recipients: {in: freemail_domains}
    action: reject
    status_code: 550
    enhanced_status: 5.7.1
    message_vi: "Không gửi tới hộp thư công cộng: {recipients}."
    message_en: "Public mailbox recipient refused: {recipients}."
  - name: live-monitor-rollout
    description: test rule in monitor mode, counted and recorded, never enforced
    when:
      header: {name: Subject, matches: 'ROLLOUT'}
    action: reject
    mode: monitor
    message_vi: "Quy tắc thử nghiệm."
    message_en: "Rule being rolled out."
  - name: live-monitor-envelope
    description: test rule in monitor mode decided at MAIL (the sender alone)
    when:
      sender: {in: canary_senders}
    action: reject
    mode: monitor
    message_vi: "Quy tắc thử nghiệm ở bước MAIL."
    message_en: "Rule being rolled out at MAIL."
"""


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    tmp = tmp_path_factory.mktemp("live-policy")
    with live_with_rules(tmp, "zz-live-tests.yaml", LIVE_RULES) as gateway:
        yield gateway


def plain(sender: str, to: str, subject: str = "Trao đổi công việc",
          body: str = "Kính gửi anh,\nTrao đổi lịch làm việc tuần sau.\n") -> bytes:
    return to_bytes(message(sender=sender, to=to, subject=subject, body=body))


def official_document(to: str) -> bytes:
    """A "GIẤY MỜI" numbered "Số: 12/GM-UBND", as a PDF attachment."""
    return to_bytes(message(sender=OFFICIAL, to=to,
                            attachments=[Attachment("giay-moi.pdf", official_pdf())]))


def lines(text: str) -> list[str]:
    return text.splitlines()


def test_freemail_recipient_refused_at_rcpt_while_the_others_are_accepted(live: Live) -> None:
    before = len(live.sink.messages)
    hits = rule_hits("live-freemail-recipient-at-rcpt", "enforce", "reject")
    recipients = [COLLEAGUE, CITIZEN, "c@hue.gov.vn"]
    outcome = send(live, OFFICIAL, recipients, plain(OFFICIAL, COLLEAGUE),
                   client_ip=RCPT_TEST_IP)
    assert outcome.rcpt[COLLEAGUE][0] == 250
    assert outcome.rcpt["c@hue.gov.vn"][0] == 250
    code, text = outcome.rcpt[CITIZEN]
    assert code == 550
    assert text.startswith("5.7.1 ")
    assert f"Public mailbox recipient refused: {CITIZEN}" in text
    assert outcome.data is not None and outcome.data[0] == 250
    (got,) = arrivals(live.sink, before, 1)
    assert got.rcpt_tos == [COLLEAGUE, "c@hue.gov.vn"]
    record = live.last_audit()
    assert record["rcpt_accepted"] == [COLLEAGUE, "c@hue.gov.vn"]
    assert CITIZEN in json.dumps(record["rcpt_refused"])
    assert rule_hits("live-freemail-recipient-at-rcpt", "enforce", "reject") == hits + 1


@pytest.mark.parametrize("utf8", [True, False], ids=["smtputf8", "ascii"])
def test_inside_sender_on_gmail_refused_at_mail_citing_the_directive(live: Live,
                                                                     utf8: bool) -> None:
    before = len(live.sink.messages)
    outcome = send(live, "van.a@gmail.com", [COLLEAGUE], plain("van.a@gmail.com", COLLEAGUE),
                   utf8=utf8)
    code, text = outcome.mail
    assert code == 550
    vi, en = lines(text)
    assert vi.startswith("5.7.1 ") and en.startswith("5.7.1 ")
    cited = "Chỉ thị số 77/2014/CT-UBND" if utf8 else "Chi thi so 77/2014/CT-UBND"
    assert cited in vi
    assert "van.a@gmail.com" in vi
    assert "Mail from agency networks must use an official mailbox" in en
    assert DIRECTIVE in en
    assert outcome.rcpt == {} and outcome.data is None
    assert len(live.sink.messages) == before


@pytest.mark.parametrize("utf8", [True, False], ids=["smtputf8", "ascii"])
def test_official_document_to_gmail_refused_after_data_in_both_languages(
    live: Live, utf8: bool
) -> None:
    before = len(live.sink.messages)
    hits = rule_hits("official-documents-to-freemail", "enforce", "reject")
    outcome = send(live, OFFICIAL, [CITIZEN], official_document(CITIZEN), utf8=utf8)
    assert outcome.rcpt[CITIZEN][0] == 250
    assert outcome.data is not None
    code, text = outcome.data
    assert code == 550
    vi, en = lines(text)
    assert vi.startswith("5.7.1 ") and en.startswith("5.7.1 ")
    if utf8:
        assert "Không gửi văn bản công vụ" in vi
        assert "Chỉ thị số 77/2014/CT-UBND" in vi
        assert f"tới hộp thư ngoài hệ thống công vụ: {CITIZEN}" in vi
    else:
        assert vi.isascii()
        assert f"Khong gui van ban cong vu \"giay-moi.pdf\" (Giay moi) toi hop thu ngoai " \
               f"he thong cong vu: {CITIZEN}." in vi
    assert f'Official documents "giay-moi.pdf" (giay_moi) must not be sent to public ' \
           f"mailboxes: {CITIZEN}." in en
    assert len(live.sink.messages) == before
    record = live.last_audit()
    assert (record["outcome"], record["action"], record["direction"]) == \
        ("rejected", "reject", "outbound")
    assert [rule["name"] for rule in record["rules"]] == \
        ["official-documents-to-freemail", "designated-documents-signed"]
    assert [(d["filename"], d["doc_type"]) for d in record["documents"]
            if d["filename"]] == [("giay-moi.pdf", "giay_moi")]
    assert record["reply"].startswith("550-5.7.1 ")
    assert rule_hits("official-documents-to-freemail", "enforce", "reject") == hits + 1


def test_citizen_writing_from_gmail_is_relayed_unchanged_but_for_the_added_headers(
    live: Live,
) -> None:
    before = len(live.sink.messages)
    original = plain(CITIZEN, OFFICIAL, "Hỏi về thủ tục cấp phép",
                     "Kính gửi Sở,\nTôi muốn hỏi thủ tục cấp giấy phép xây dựng.\n")
    outcome = send(live, CITIZEN, [OFFICIAL], original, client_ip=OUTSIDE_IP, utf8=True)
    assert outcome.final[0] == 250
    (got,) = arrivals(live.sink, before, 1)
    assert (got.mail_from, got.rcpt_tos) == (CITIZEN, [OFFICIAL])
    assert got.content.endswith(original)
    added = message_from_bytes(got.content[: -len(original)] + b"\r\n", policy=policy.SMTP)
    assert sorted(set(added.keys())) == ["Authentication-Results", "Received", "X-TTH-Policy"]
    assert str(added["X-TTH-Policy"]).startswith("action=accept; rules=none; policy=")
    assert str(added["X-TTH-Policy"]).endswith("; auth=spf=none dkim=none dmarc=none arc=none")
    assert str(added["Authentication-Results"]).startswith("gw.test;\tspf=none")
    assert f"[{OUTSIDE_IP}]" in str(added["Received"])
    record = live.last_audit()
    assert (record["outcome"], record["direction"], record["rules"]) == \
        ("relayed", "inbound", [])


def test_forged_official_envelope_sender_from_outside_refused_after_data(live: Live) -> None:
    hits = rule_hits("official-sender-from-outside", "enforce", "reject")
    outcome = send(live, OFFICIAL, [COLLEAGUE], plain(OFFICIAL, COLLEAGUE),
                   client_ip=OUTSIDE_IP)
    assert outcome.mail[0] == 250 and outcome.data is not None
    code, text = outcome.data
    assert code == 550 and text.startswith("5.7.1 ")
    assert "Forged official domain" in text and "thuathienhue.gov.vn" in text
    assert rule_hits("official-sender-from-outside", "enforce", "reject") == hits + 1


def test_forged_official_from_header_from_outside_refused_after_data(live: Live) -> None:
    before = len(live.sink.messages)
    outcome = send(live, "bounce@example.org", [COLLEAGUE],
                   plain("Giám đốc Sở <giamdoc@hue.gov.vn>", COLLEAGUE), client_ip=OUTSIDE_IP)
    assert outcome.data is not None
    code, text = outcome.data
    assert code == 550 and "Forged official domain in From" in text
    assert len(live.sink.messages) == before
    assert [r["name"] for r in live.last_audit()["rules"]] == ["official-from-from-outside"]


HOMOGRAPH = "xn--" + "thu\u0430thienhue".encode("punycode").decode() + ".gov.vn"


@pytest.mark.parametrize("domain", [
    "thuathlenhue.gov.vn",
    "thuathienhue.gov.vn.example.com",
    "thuathienhue-gov.vn",
    HOMOGRAPH,
])
def test_lookalike_sender_domain_refused_at_mail(live: Live, domain: str) -> None:
    hits = rule_hits("lookalike-sender", "enforce", "reject")
    sender = f"vanthu@{domain}"
    outcome = send(live, sender, [COLLEAGUE], plain(sender, COLLEAGUE), client_ip=OUTSIDE_IP)
    code, text = outcome.mail
    assert code == 550 and text.startswith("5.7.1 ")
    assert "The sender's domain imitates an official domain" in text
    assert rule_hits("lookalike-sender", "enforce", "reject") == hits + 1


def test_lookalike_recipient_refused_alone_at_rcpt(live: Live) -> None:
    before = len(live.sink.messages)
    typo = "vanthu@thuathienhue-gov.vn"
    outcome = send(live, OFFICIAL, [typo, COLLEAGUE], plain(OFFICIAL, COLLEAGUE))
    assert outcome.rcpt[typo][0] == 550
    assert "The recipient's domain imitates an official domain" in outcome.rcpt[typo][1]
    assert outcome.rcpt[COLLEAGUE][0] == 250
    (got,) = arrivals(live.sink, before, 1)
    assert got.rcpt_tos == [COLLEAGUE]


def test_display_name_spoofing_refused_and_counted(live: Live) -> None:
    before = len(live.sink.messages)
    hits = rule_hits("display-name-spoofing", "enforce", "reject")
    spoof = '"UBND tỉnh Thừa Thiên Huế" <ubnd.hue@gmail.com>'
    outcome = send(live, "ubnd.hue@gmail.com", [OFFICIAL], plain(spoof, OFFICIAL),
                   client_ip=OUTSIDE_IP, utf8=True)
    assert outcome.data is not None
    code, text = outcome.data
    assert code == 550
    vi, en = lines(text)
    assert "Tên hiển thị mạo danh cơ quan nhà nước" in vi
    assert en.startswith("5.7.1 The display name impersonates a state agency")
    assert "ubnd.hue@gmail.com" in en
    assert len(live.sink.messages) == before
    assert rule_hits("display-name-spoofing", "enforce", "reject") == hits + 1


def test_monitor_rule_is_recorded_and_counted_without_changing_the_action(live: Live) -> None:
    before = len(live.sink.messages)
    hits = rule_hits("live-monitor-rollout", "monitor", "reject")
    outcome = send(live, OFFICIAL, [COLLEAGUE], plain(OFFICIAL, COLLEAGUE, "ROLLOUT week 48"),
                   client_ip=INSIDE_IP)
    assert outcome.final[0] == 250
    (got,) = arrivals(live.sink, before, 1)
    assert got.rcpt_tos == [COLLEAGUE]
    record = live.last_audit()
    assert (record["outcome"], record["action"]) == ("relayed", "accept")
    assert {"name": "live-monitor-rollout", "mode": "monitor", "action": "reject"}.items() <= \
        next(r for r in record["rules"] if r["name"] == "live-monitor-rollout").items()
    assert rule_hits("live-monitor-rollout", "monitor", "reject") == hits + 1


def test_a_monitor_rule_decided_at_mail_is_reported_with_the_message(live: Live) -> None:
    """Its hit shows in the audit line and X-TTH-Policy and counts once, as a monitor rule
    tried after DATA does."""
    before = len(live.sink.messages)
    canary = "canary@thuathienhue.gov.vn"
    hits = rule_hits("live-monitor-envelope", "monitor", "reject")
    outcome = send(live, canary, [COLLEAGUE], plain(canary, COLLEAGUE), client_ip=INSIDE_IP)
    assert outcome.final[0] == 250, outcome
    (got,) = arrivals(live.sink, before, 1)
    record = live.last_audit()
    assert "live-monitor-envelope" in [r["name"] for r in record["rules"]]
    head = got.content.split(b"\r\n\r\n")[0]
    assert b"monitor=live-monitor-envelope" in head.replace(b"\r\n ", b" ").replace(
        b"\r\n\t", b" ")
    assert rule_hits("live-monitor-envelope", "monitor", "reject") == hits + 1


def test_ordinary_reply_to_a_citizen_passes(live: Live) -> None:
    before = len(live.sink.messages)
    outcome = send(live, OFFICIAL, [CITIZEN],
                   plain(OFFICIAL, CITIZEN, "Trả lời: Hỏi về thủ tục",
                         "Chào anh,\nHồ sơ gồm đơn và bản sao giấy tờ.\n"))
    assert outcome.final[0] == 250
    (got,) = arrivals(live.sink, before, 1)
    assert got.rcpt_tos == [CITIZEN]
    assert live.last_audit()["direction"] == "outbound"
