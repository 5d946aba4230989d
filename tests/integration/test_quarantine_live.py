"""The live gateway with the default policies: classified mail is held, never relayed."""

from __future__ import annotations

import smtplib
import time
from email import message_from_bytes
from email.policy import default
from pathlib import Path

import pytest

from gateway.config import Settings
from gateway.quarantine.heldmeta import HoldStatus
from gateway.quarantine.local import QuarantineStore
from tests.fixtures.documents import cp1258
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


def holding_settings(sink: Sink, tmp_path: Path) -> Settings:
    """The default policies and a local quarantine under `tmp_path`."""
    base = settings_for(sink.address, tmp_path)
    return Settings.model_validate(
        {**base.model_dump(mode="json"), "policies": str(POLICIES),
         "quarantine": {"path": str(tmp_path / "q")}},
        strict=False,
    )


def test_classified_mail_is_held_and_sender_and_officer_are_told(
    sink: Sink, tmp_path: Path
) -> None:
    settings = holding_settings(sink, tmp_path)
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
    for received in sink.messages:  # the content, not digits a random Message-ID may hold
        notice = message_from_bytes(received.content, policy=default)
        body = notice.get_body()
        assert body is not None
        assert "phương án số 7731" not in f"{notice['Subject']}\n{body.get_content()}"


def legacy_message(subject: bytes) -> bytes:
    """A message as a legacy client writes it: raw 8-bit Subject, no SMTPUTF8, no MIME."""
    return (
        f"From: {SENDER}\r\nTo: {RECIPIENT}\r\n".encode()
        + b"Subject: " + subject + b"\r\nMessage-ID: <legacy-1@example.org>\r\n\r\n"
        + b"Noi dung phuong an so 7731\r\n"
    )


@pytest.mark.parametrize(
    ("subject", "degree"),
    [("[TỐI MẬT] Kế hoạch bảo vệ".encode(), "toi_mat"),
     (cp1258("(MẬT) Báo cáo"), "mat"),
     (cp1258("(TUYỆT MẬT) Đề án"), "tuyet_mat")],
    ids=["utf-8", "windows-1258-mat", "windows-1258-tuyet-mat"],
)
def test_classified_raw_subject_from_a_legacy_client_is_held_and_the_officer_told(
    sink: Sink, tmp_path: Path, subject: bytes, degree: str
) -> None:
    settings = holding_settings(sink, tmp_path)
    message = legacy_message(subject)
    with running_gateway(settings) as gateway, smtplib.SMTP(*gateway.addresses()[0]) as client:
        client.helo("legacy.example.org")
        client.mail(SENDER)
        client.rcpt(RECIPIENT)
        code, text = client.data(message)
        wait_for(sink, 2)
    assert code == 250, text
    records = QuarantineStore(tmp_path / "q").find()
    assert [(r.status, r.decision.classification) for r in records] == [(HoldStatus.HELD, degree)]
    assert QuarantineStore(tmp_path / "q").read_message(records[0].id) == message
    told = sorted(r for received in sink.messages for r in received.rcpt_tos)
    assert told == sorted([SENDER, "baomat@thuathienhue.gov.vn"])
