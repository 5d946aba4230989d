"""The live gateway with the default policies: classified mail is held, never relayed."""

from __future__ import annotations

import smtplib
import time
from pathlib import Path

from gateway.actions.heldmeta import HoldStatus
from gateway.config import Settings
from gateway.quarantine.local import QuarantineStore
from tests.support.running import running_gateway, settings_for
from tests.support.sink import Sink

POLICIES = Path(__file__).resolve().parents[2] / "policies"
SENDER = "nguoidan@example.org"
RECIPIENT = "vanthu@thuathienhue.gov.vn"
MESSAGE = (
    f"From: {SENDER}\r\nTo: {RECIPIENT}\r\n"
    "Subject: [TỐI MẬT] Kế hoạch bảo vệ\r\n"
    "Message-ID: <live-1@example.org>\r\n"
    "Content-Type: text/plain; charset=utf-8\r\n\r\n"
    "Nội dung phương án số 7731\r\n"
).encode()


def wait_for(sink: Sink, count: int, seconds: float = 10.0) -> None:
    deadline = time.monotonic() + seconds
    while len(sink.messages) < count and time.monotonic() < deadline:
        time.sleep(0.05)


def test_classified_mail_is_held_and_sender_and_officer_are_told(
    sink: Sink, tmp_path: Path
) -> None:
    base = settings_for(sink.address, tmp_path)
    settings = Settings.model_validate(
        {**base.model_dump(mode="json"), "policies": str(POLICIES),
         "quarantine": {"path": str(tmp_path / "q")}},
        strict=False,
    )
    with running_gateway(settings) as gateway, smtplib.SMTP(*gateway.addresses()[0]) as client:
        client.ehlo()
        client.mail(SENDER, ["SMTPUTF8", "BODY=8BITMIME"])
        client.rcpt(RECIPIENT)
        code, text = client.data(MESSAGE)
        wait_for(sink, 2)
    assert code == 250, text
    records = QuarantineStore(tmp_path / "q").find()
    assert len(records) == 1
    held = records[0]
    assert held.id.encode() in text
    assert held.status is HoldStatus.HELD
    assert held.decision.classification == "toi_mat"
    assert held.envelope.rcpt_tos == (RECIPIENT,)
    assert QuarantineStore(tmp_path / "q").read_message(held.id) == MESSAGE
    assert all(received.mail_from == "<>" for received in sink.messages)
    told = sorted(r for received in sink.messages for r in received.rcpt_tos)
    assert told == sorted([SENDER, "baomat@thuathienhue.gov.vn"])
    assert all(b"7731" not in received.content for received in sink.messages)
