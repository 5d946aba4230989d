"""Envelope forwarding: recipients, per-recipient refusals, limits, syntax, pooled upstream."""

from __future__ import annotations

import smtplib
from collections.abc import Callable

import pytest

from gateway.deciding.seam import AcceptAll
from gateway.service.serve import Gateway
from tests.support.sink import Sink
from tests.support.wire import Wire

MESSAGE = b"From: a@thuathienhue.gov.vn\r\nSubject: t\r\n\r\nbody\r\n"


def test_several_recipients_reach_the_upstream_in_one_message(
    sink: Sink, gateway: tuple[str, int]
) -> None:
    recipients = [f"u{i}@thuathienhue.gov.vn" for i in range(5)]
    with smtplib.SMTP(*gateway) as client:
        refused = client.sendmail("a@thuathienhue.gov.vn", recipients, MESSAGE)
    assert refused == {}
    assert len(sink.messages) == 1
    assert sink.messages[0].rcpt_tos == recipients
    assert b"\tfor <" not in sink.messages[0].content.split(b"\r\nFrom:")[0]


def test_unknown_user_refusal_passes_through_unchanged(
    sink: Sink, gateway: tuple[str, int]
) -> None:
    sink.behaviour.refuse_rcpt["nobody@thuathienhue.gov.vn"] = (
        "550 5.1.1 <nobody@thuathienhue.gov.vn>: Recipient address rejected: User unknown"
    )
    with smtplib.SMTP(*gateway) as client:
        client.ehlo()
        assert client.mail("a@thuathienhue.gov.vn")[0] == 250
        code, text = client.rcpt("nobody@thuathienhue.gov.vn")
        assert (code, text) == (
            550,
            b"5.1.1 <nobody@thuathienhue.gov.vn>: Recipient address rejected: User unknown",
        )
        assert client.rcpt("b@thuathienhue.gov.vn")[0] == 250
        assert client.data(MESSAGE)[0] == 250
    assert sink.messages[0].rcpt_tos == ["b@thuathienhue.gov.vn"]


def test_data_without_any_accepted_recipient_is_refused(
    sink: Sink, gateway: tuple[str, int]
) -> None:
    sink.behaviour.refuse_rcpt["nobody@x.test"] = "550 5.1.1 User unknown"
    with Wire(gateway) as wire:
        wire.start()
        assert wire.command("MAIL FROM:<a@x.test>").code == 250
        assert wire.command("RCPT TO:<nobody@x.test>").code == 550
        answer = wire.command("DATA")
        assert answer.code == 503
        assert answer.lines[0].startswith("5.5.1")
    assert sink.messages == []


def test_recipient_limit_is_452_and_the_message_goes_to_the_accepted_ones(
    sink: Sink, gateway_at: Callable[..., Gateway]
) -> None:
    address = gateway_at(sink.address, max_recipients=3).addresses()[0]
    with smtplib.SMTP(*address) as client:
        client.ehlo()
        client.mail("a@x.test")
        for i in range(3):
            assert client.rcpt(f"u{i}@x.test")[0] == 250
        code, text = client.rcpt("u3@x.test")
        assert (code, text[:5]) == (452, b"4.5.3")
        assert client.data(MESSAGE)[0] == 250
    assert sink.messages[0].rcpt_tos == ["u0@x.test", "u1@x.test", "u2@x.test"]


def test_upstream_connection_is_reused_across_transactions(
    sink: Sink, gateway: tuple[str, int]
) -> None:
    before = sink.connections  # aiosmtpd's Controller makes one connection when it starts
    for _ in range(3):
        with smtplib.SMTP(*gateway) as client:
            client.sendmail("a@x.test", ["b@x.test"], MESSAGE)
            client.sendmail("a@x.test", ["c@x.test"], MESSAGE)
    with smtplib.SMTP(*gateway) as client:
        client.ehlo()
        client.mail("a@x.test")
        client.rcpt("b@x.test")
        client.rset()
        client.sendmail("a@x.test", ["d@x.test"], MESSAGE)
    assert [m.rcpt_tos for m in sink.messages] == [["b@x.test"], ["c@x.test"]] * 3 + [
        ["d@x.test"]
    ]
    assert sink.connections - before == 1


def test_unpooled_upstream_opens_a_connection_per_transaction(
    sink: Sink, gateway_at: Callable[..., Gateway], tmp_path: object
) -> None:
    from tests.support.running import running_gateway, settings_for

    settings = settings_for(sink.address, tmp_path)  # type: ignore[arg-type]
    settings = settings.model_copy(
        update={"upstream": settings.upstream.model_copy(update={"pool_size": 0})}
    )
    before = sink.connections
    with running_gateway(settings, AcceptAll()) as gateway:
        address = gateway.addresses()[0]
        for _ in range(3):
            with smtplib.SMTP(*address) as client:
                client.sendmail("a@x.test", ["b@x.test"], MESSAGE)
    assert len(sink.messages) == 3
    assert sink.connections - before == 3


@pytest.mark.parametrize(
    ("command", "code", "enhanced"),
    [
        ("FROB x", 500, "5.5.2"),
        ("MAIL FROM:<a@x.test", 553, "5.1.3"),
        ("MAIL FROM:<a@x.test SIZE=10", 553, "5.1.3"),
        ("MAIL FROM:a@@x.test", 553, "5.1.3"),
        ("MAIL TO:<a@x.test>", 501, "5.5.4"),
        ("RCPT TO:<b@x.test>", 503, "5.5.1"),
        ("DATA", 503, "5.5.1"),
        ("MAIL FROM:<a@x.test> FOO=BAR", 555, "5.5.4"),
    ],
)
def test_bad_commands_get_a_clear_reply_and_the_session_goes_on(
    sink: Sink, gateway: tuple[str, int], command: str, code: int, enhanced: str
) -> None:
    with Wire(gateway) as wire:
        wire.start()
        answer = wire.command(command)
        assert answer.code == code, answer
        assert answer.lines[0].startswith(enhanced), answer
        wire.command("RSET")
        assert wire.command("MAIL FROM:<a@x.test>").code == 250
        assert wire.command("RCPT TO:<b@x.test>").code == 250
        assert wire.command("DATA").code == 354
        assert wire.command(MESSAGE + b".").code == 250
    assert len(sink.messages) == 1


def test_bad_recipient_address_is_refused_and_not_forwarded(
    sink: Sink, gateway: tuple[str, int]
) -> None:
    with Wire(gateway) as wire:
        wire.start()
        assert wire.command("MAIL FROM:<a@x.test>").code == 250
        answer = wire.command("RCPT TO:<b@x.test")
        assert (answer.code, answer.lines[0][:5]) == (553, "5.1.3")
        assert wire.command("RCPT TO:").code == 501
        assert wire.command("RCPT TO:<a b@x.test>").code == 553
        assert wire.command("QUIT").code == 221
    assert sink.messages == []


def test_dsn_parameters_reach_an_upstream_with_dsn_as_they_were_sent(
    sink: Sink, gateway: tuple[str, int]
) -> None:
    sink.behaviour.dsn = True
    orcpt = "ORCPT=rfc822;Bob+2Bnews@X.test"
    with Wire(gateway) as wire:
        assert "DSN" in wire.start().lines
        assert wire.command("MAIL FROM:<a@x.test> RET=HDRS ENVID=Qx+2B1").code == 250
        assert wire.command(f"RCPT TO:<b@x.test> NOTIFY=SUCCESS,DELAY {orcpt}").code == 250
        assert wire.command("RCPT TO:<c@x.test> notify=never").code == 250
        assert wire.command("DATA").code == 354
        assert wire.command(MESSAGE + b".").code == 250
    assert sink.parameters == ["RET=HDRS ENVID=Qx+2B1", f"NOTIFY=SUCCESS,DELAY {orcpt}",
                               "NOTIFY=never"]
    assert sink.messages[0].rcpt_tos == ["b@x.test", "c@x.test"]


def test_dsn_parameters_are_left_out_for_an_upstream_without_dsn(
    sink: Sink, gateway: tuple[str, int]
) -> None:
    with smtplib.SMTP(*gateway) as client:
        client.ehlo()
        assert client.has_extn("dsn")
        refused = client.sendmail("a@x.test", ["b@x.test"], MESSAGE, ["RET=FULL", "ENVID=e1"],
                                  ["NOTIFY=FAILURE", "ORCPT=rfc822;b@x.test"])
    assert refused == {}
    assert sink.parameters == ["", ""]
    assert len(sink.messages) == 1


@pytest.mark.parametrize(
    ("command", "code"),
    [
        ("MAIL FROM:<a@x.test> NOTIFY=NEVER", 555),
        ("MAIL FROM:<a@x.test> RET=ALL", 501),
        ("MAIL FROM:<a@x.test> ENVID=a=b", 501),
        ("MAIL FROM:<a@x.test> RET=FULL RET=HDRS", 501),
        ("RCPT TO:<b@x.test> RET=FULL", 555),
        ("RCPT TO:<b@x.test> NOTIFY=NEVER,SUCCESS", 501),
        ("RCPT TO:<b@x.test> ORCPT=b@x.test", 501),
    ],
)
def test_malformed_dsn_parameters_are_refused_and_not_forwarded(
    sink: Sink, gateway: tuple[str, int], command: str, code: int
) -> None:
    sink.behaviour.dsn = True
    with Wire(gateway) as wire:
        wire.start()
        if command.startswith("RCPT"):
            assert wire.command("MAIL FROM:<a@x.test>").code == 250
        answer = wire.command(command)
        assert (answer.code, answer.lines[0][:5]) == (code, "5.5.4")
    assert all("=" not in parameters for parameters in sink.parameters)


def test_every_reply_carries_an_enhanced_status_code(
    sink: Sink, gateway: tuple[str, int]
) -> None:
    with Wire(gateway) as wire:
        ehlo = wire.start()
        assert "ENHANCEDSTATUSCODES" in ehlo.lines
        assert "PIPELINING" in ehlo.lines
        for line in ["NOOP", "MAIL FROM:<a@x.test>", "RCPT TO:<b@x.test>", "RSET", "VRFY x"]:
            answer = wire.command(line)
            assert answer.lines[0][:1] == str(answer.code)[0], (line, answer)
            assert answer.lines[0][1] == ".", (line, answer)
