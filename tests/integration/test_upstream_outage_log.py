"""An upstream outage is logged once (WARNING), not once per session, and its end once."""

from __future__ import annotations

import logging
import smtplib
from collections.abc import Callable

import pytest

from gateway.service.serve import Gateway
from tests.support.sink import Sink, free_port

MESSAGE = b"From: a@x.test\r\nSubject: t\r\n\r\nbody\r\n"


def warnings_of(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [record.getMessage() for record in caplog.records
            if record.name == "gateway.outbound.outage" and record.levelno >= logging.WARNING]


def mail_reply(address: tuple[str, int]) -> int:
    with smtplib.SMTP(*address, timeout=30) as client:
        client.ehlo("client.test")
        code, _ = client.mail("a@x.test")
        return code


def test_upstream_down_at_mail_is_one_warning_then_recovery(
    gateway_at: Callable[..., Gateway], caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG, logger="gateway.outbound.outage")
    port = free_port()
    address = gateway_at(f"127.0.0.1:{port}").addresses()[0]
    for _ in range(5):
        assert mail_reply(address) == 451
    warned = warnings_of(caplog)
    assert len(warned) == 1 and warned[0].startswith("upstream failed at MAIL:"), warned
    sink = Sink(port=port)
    sink.start()
    try:
        assert mail_reply(address) == 250
        assert mail_reply(address) == 250
    finally:
        sink.stop()
    warned = warnings_of(caplog)
    assert len(warned) == 2
    assert warned[1].startswith("upstream works again at MAIL after ")
    assert "5 failed attempt(s)" in warned[1]


def test_failures_at_end_of_data_are_one_warning(
    sink: Sink, gateway: tuple[str, int], caplog: pytest.LogCaptureFixture,
) -> None:
    sink.behaviour.drop_at_data_end = True
    for number in range(3):
        with smtplib.SMTP(*gateway, timeout=30) as client:
            with pytest.raises(smtplib.SMTPDataError) as refused:
                client.sendmail("a@x.test", [f"b{number}@x.test"], MESSAGE)
            assert refused.value.smtp_code == 451
    warned = warnings_of(caplog)
    assert len(warned) == 1 and warned[0].startswith("upstream failed at end of data:"), warned
