"""The relay is transparent: what the client sends is what the upstream gets, plus a trace."""

from __future__ import annotations

import smtplib

from tests.support.sink import Sink

MESSAGE = (
    b"From: Nguyen Van A <a@thuathienhue.gov.vn>\r\n"
    b"To: b@thuathienhue.gov.vn\r\n"
    b"Subject: =?utf-8?b?R2nhuqV5IG3hu51p?=\r\n"
    b"Message-ID: <1@thuathienhue.gov.vn>\r\n"
    b"\r\n"
    b"Line one\r\n"
    b".leading dot\r\n"
    b"..two dots\r\n"
    b".\tdot and tab\r\n"
    b"\r\n"
    b"last line without anything special\r\n"
)


def test_message_arrives_byte_for_byte_with_one_trace_header(
    sink: Sink, gateway: tuple[str, int]
) -> None:
    with smtplib.SMTP(*gateway) as client:
        client.sendmail("a@thuathienhue.gov.vn", ["b@thuathienhue.gov.vn"], MESSAGE)
    assert len(sink.messages) == 1
    got = sink.messages[0]
    assert got.mail_from == "a@thuathienhue.gov.vn"
    assert got.rcpt_tos == ["b@thuathienhue.gov.vn"]
    assert got.content.startswith(b"Received: from ")
    trace, _, rest = got.content.partition(b"\r\nFrom: ")
    assert b"by gw.test (tth-gateway) with ESMTP id" in trace
    assert b"for <b@thuathienhue.gov.vn>" in trace
    assert b"From: " + rest == MESSAGE


def test_final_reply_is_the_upstream_reply(sink: Sink, gateway: tuple[str, int]) -> None:
    with smtplib.SMTP(*gateway) as client:
        client.ehlo()
        client.mail("a@thuathienhue.gov.vn")
        client.rcpt("b@thuathienhue.gov.vn")
        code, text = client.data(MESSAGE)
    assert (code, text) == (250, b"2.0.0 Ok: queued as Q1")
