"""Upstream down, refusing, vanishing or slow: the client gets 4xx or 5xx, never 250."""

from __future__ import annotations

import smtplib
from collections.abc import Callable

import pytest

from gateway.deciding.seam import AcceptAll
from gateway.service.serve import Gateway
from tests.support.sink import Sink, free_port
from tests.support.wire import Wire

MESSAGE = b"From: a@x.test\r\nSubject: t\r\n\r\nbody\r\n"


def _transaction(address: tuple[str, int]) -> list[tuple[int, str]]:
    """MAIL, RCPT, DATA and the message; the replies as far as the gateway let it go."""
    answers = []
    with Wire(address) as wire:
        wire.start()
        for line in (b"MAIL FROM:<a@x.test>", b"RCPT TO:<b@x.test>", b"DATA", MESSAGE + b"."):
            answer = wire.command(line)
            answers.append((answer.code, answer.lines[0]))
            if answer.code >= 400:
                break
        wire.command("QUIT")
    return answers


def test_upstream_down_is_451_at_mail(gateway_at: Callable[..., Gateway]) -> None:
    address = gateway_at(f"127.0.0.1:{free_port()}").addresses()[0]
    assert _transaction(address) == [
        (451, "4.4.1 Upstream mail system unavailable, try again later")
    ]


@pytest.mark.parametrize(
    ("upstream_reply", "expected"),
    [
        ("421 4.3.2 Service not available", (421, "4.3.2 Service not available")),
        ("451 4.3.0 Try later", (451, "4.3.0 Try later")),
        ("553 5.7.1 Sender refused", (553, "5.7.1 Sender refused")),
    ],
)
def test_upstream_refusal_at_mail_is_passed_on(
    sink: Sink, gateway: tuple[str, int], upstream_reply: str, expected: tuple[int, str]
) -> None:
    sink.behaviour.mail_reply = upstream_reply
    assert _transaction(gateway) == [expected]
    sink.behaviour.mail_reply = None
    assert _transaction(gateway)[-1][0] == 250


@pytest.mark.parametrize(
    ("upstream_reply", "code"),
    [("450 4.2.0 Mailbox busy", 450), ("550 5.1.1 User unknown", 550)],
)
def test_upstream_refusal_at_rcpt_is_passed_on(
    sink: Sink, gateway: tuple[str, int], upstream_reply: str, code: int
) -> None:
    sink.behaviour.refuse_rcpt["b@x.test"] = upstream_reply
    answers = _transaction(gateway)
    assert answers[-1] == (code, upstream_reply[4:])
    assert sink.messages == []


@pytest.mark.parametrize(
    ("upstream_reply", "expected"),
    [
        ("452 4.3.1 Insufficient system storage", (452, "4.3.1 Insufficient system storage")),
        ("554 5.7.1 Message refused", (554, "5.7.1 Message refused")),
    ],
)
def test_upstream_refusal_at_end_of_data_is_passed_on(
    sink: Sink, gateway: tuple[str, int], upstream_reply: str, expected: tuple[int, str]
) -> None:
    sink.behaviour.data_reply = upstream_reply
    assert _transaction(gateway)[-1] == expected
    assert sink.messages == []


@pytest.mark.parametrize("upstream_reply", ["451 4.3.0 Queue file write error",
                                            "554 5.7.1 Data refused"])
def test_upstream_refusal_of_the_data_command_is_passed_on_and_the_connection_reused(
    sink: Sink, gateway: tuple[str, int], upstream_reply: str
) -> None:
    before = sink.connections  # aiosmtpd's Controller makes one connection when it starts
    sink.behaviour.data_command_reply = upstream_reply
    assert _transaction(gateway)[-1] == (int(upstream_reply[:3]), upstream_reply[4:])
    sink.behaviour.data_command_reply = None
    assert _transaction(gateway)[-1][0] == 250  # the pooled connection's transaction ended
    assert len(sink.messages) == 1 and sink.connections - before == 1


def test_upstream_disconnect_at_end_of_data_is_a_4xx_and_the_next_message_goes(
    sink: Sink, gateway: tuple[str, int]
) -> None:
    sink.behaviour.drop_at_data_end = True
    code, text = _transaction(gateway)[-1]
    assert code == 451 and text.startswith("4.4.2"), text
    sink.behaviour.drop_at_data_end = False
    assert _transaction(gateway)[-1][0] == 250
    assert len(sink.messages) == 1


def test_upstream_timeout_at_end_of_data_is_a_4xx(
    sink: Sink, tmp_path: object, gateway_at: Callable[..., Gateway]
) -> None:
    from tests.support.running import running_gateway, settings_for

    settings = settings_for(sink.address, tmp_path)  # type: ignore[arg-type]
    settings = settings.model_copy(
        update={"upstream": settings.upstream.model_copy(update={"timeout": 0.5})}
    )
    sink.behaviour.data_delay = 1.5
    with running_gateway(settings, AcceptAll()) as gateway:
        code, text = _transaction(gateway.addresses()[0])[-1]
        assert code == 451 and text.startswith("4.4.2"), text
        sink.behaviour.data_delay = 0
        assert _transaction(gateway.addresses()[0])[-1][0] == 250


def test_pooled_connection_closed_by_the_upstream_is_replaced(
    gateway_at: Callable[..., Gateway]
) -> None:
    first = Sink()
    first.start()
    address = gateway_at(first.address).addresses()[0]
    with smtplib.SMTP(*address) as client:
        client.sendmail("a@x.test", ["b@x.test"], MESSAGE)
    first.stop()
    second = Sink(port=first.port)
    second.start()
    try:
        with smtplib.SMTP(*address) as client:
            client.sendmail("a@x.test", ["c@x.test"], MESSAGE)
    finally:
        second.stop()
    assert [m.rcpt_tos for m in first.messages] == [["b@x.test"]]
    assert [m.rcpt_tos for m in second.messages] == [["c@x.test"]]
