"""Classified mail through the live gateway: held in quarantine, people told, released by hand.

One gateway for the module with the default policies; the quarantine is a
directory of the module's temporary folder, read by `tth-gateway quarantine`.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from email import message_from_bytes, policy
from email.message import EmailMessage
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from gateway.quarantine.heldmeta import HoldStatus
from gateway.quarantine.local import QuarantineStore
from tests.fixtures.archives import rar5_stored, seven_zip_of, tar_of
from tests.fixtures.documents import (
    Attachment,
    OfficialPaper,
    encrypted_pdf,
    forwarded,
    message,
    official_pdf,
    to_bytes,
    zip_of,
)
from tests.fixtures.scans import scanned_official_pdf
from tests.support.live import (
    OFFICER,
    OUTSIDE_IP,
    Live,
    arrivals,
    command,
    header_block,
    live_gateway,
    live_settings,
    metric,
    send,
    started_sink,
    write_config,
)

SENDER = "van.a@thuathienhue.gov.vn"
RECIPIENT = "phong.b@thuathienhue.gov.vn"
SECRET = "Phương án 4417"
#: The secret's number standing alone (not inside a random Message-ID or a hex digest).
SECRET_NUMBER = re.compile(r"(?<![0-9A-Za-z])4417(?![0-9A-Za-z])")
SECRET_PAPER = OfficialPaper(number="05/KH-UBND", title="KẾ HOẠCH", stamp="TỐI MẬT",
                             body=(SECRET, "Lực lượng và địa điểm triển khai."))


def classified_cases() -> dict[str, tuple[EmailMessage, str]]:
    """Each way a marking travels, and the level it must be found at."""
    secret_pdf = official_pdf(SECRET_PAPER)
    inner = {"ke-hoach.pdf": secret_pdf}
    return {
        "subject": (message(subject=f"[MẬT] {SECRET}", body=f"Nội dung {SECRET}\n"), "mat"),
        "pdf-first-page": (
            message(attachments=[Attachment("ke-hoach.pdf", secret_pdf)]), "toi_mat"),
        "pdf-inside-zip": (
            message(attachments=[Attachment("tai-lieu.zip", zip_of({"ke-hoach.pdf": secret_pdf}),
                                            "application/zip")]), "toi_mat"),
        "pdf-inside-7z": (
            message(attachments=[Attachment("tai-lieu.7z", seven_zip_of(inner),
                                            "application/x-7z-compressed")]), "toi_mat"),
        "pdf-inside-tar-gz": (
            message(attachments=[Attachment("tai-lieu.tar.gz", tar_of(inner, "gz"),
                                            "application/gzip")]), "toi_mat"),
        "pdf-inside-rar": (
            message(attachments=[Attachment("tai-lieu.rar", rar5_stored(inner),
                                            "application/octet-stream")]), "toi_mat"),
        "scanned-pdf-read-by-ocr-in-a-capped-worker": (
            message(attachments=[Attachment("scan0001.pdf", scanned_official_pdf())]), "mat"),
        "forwarded-message": (
            forwarded(message(subject=f"[TỐI MẬT] {SECRET}", body=f"{SECRET}\n")), "toi_mat"),
    }


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    tmp = tmp_path_factory.mktemp("live-documents")
    with started_sink() as sink, live_gateway(sink, live_settings(sink.address, tmp)) as gateway:
        yield gateway


def store(live: Live) -> QuarantineStore:
    return QuarantineStore(live.settings.quarantine.path)


def reference_in(text: str) -> str:
    """The reference id at the end of the 250 2.6.0 reply's English line."""
    english = text.splitlines()[-1]
    assert english.startswith("2.6.0 Message held for review by rule classified-never-relayed")
    return english.rsplit(" ", 1)[-1]


@pytest.mark.parametrize("case", list(classified_cases()))
def test_classified_mail_is_held_and_only_the_notices_go_out(live: Live, case: str) -> None:
    held_message, level = classified_cases()[case]
    raw = to_bytes(held_message)
    before = len(live.sink.messages)
    counted = metric("tth_classified_messages_total", {"level": level})
    outcome = send(live, SENDER, [RECIPIENT], raw, utf8=True)
    assert outcome.data is not None
    code, text = outcome.data
    assert code == 250
    assert text.startswith("2.6.0 Thư bị giữ lại để kiểm tra, mã tham chiếu ")
    reference = reference_in(text)
    assert reference in text.splitlines()[0]

    folder = Path(live.settings.quarantine.path)
    assert {path.name for path in folder.iterdir() if path.name.startswith(reference)} == \
        {f"{reference}.eml", f"{reference}.notices", f"{reference}.json"}
    metadata = json.loads((folder / f"{reference}.json").read_text("utf-8"))
    assert metadata["status"] == "held"
    held = store(live).get(reference)
    assert held.decision.classification == level
    assert held.envelope.rcpt_tos == (RECIPIENT,)
    assert store(live).read_message(reference) == raw

    notices = arrivals(live.sink, before, 2)
    assert len(notices) == 2
    assert all(notice.mail_from == "<>" for notice in notices)
    assert sorted(r for notice in notices for r in notice.rcpt_tos) == sorted([SENDER, OFFICER])
    assert all(RECIPIENT not in notice.rcpt_tos for notice in notices)
    for notice in notices:
        body = message_from_bytes(notice.content, policy=policy.default)
        text_part = body.get_body(("plain",))
        assert text_part is not None
        assert reference in text_part.get_content()
        assert not SECRET_NUMBER.search(notice.content.decode("utf-8", "replace"))
    record = live.last_audit()
    assert (record["outcome"], record["action"], record["reference"]) == \
        ("quarantined", "quarantine", reference)
    assert record["classification"] == level
    assert metric("tth_classified_messages_total", {"level": level}) == counted + 1


def test_quarantine_commands_list_show_and_release_to_the_sink(live: Live, tmp_path: Path) -> None:
    raw = to_bytes(message(subject=f"[TUYỆT MẬT] {SECRET}", body=f"{SECRET}\n"))
    sent_before = len(live.sink.messages)
    outcome = send(live, SENDER, [RECIPIENT], raw, utf8=True)
    assert outcome.data is not None and outcome.data[0] == 250
    reference = reference_in(outcome.data[1])
    assert len(arrivals(live.sink, sent_before, 2)) == 2
    config = write_config(live.settings, tmp_path / "gateway.yaml")

    listed = command("quarantine", "list", "--json", "--config", str(config), cwd=tmp_path)
    assert listed.returncode == 0, listed.stderr
    assert reference in [record["id"] for record in json.loads(listed.stdout)]

    shown = command("quarantine", "show", reference, "--config", str(config), cwd=tmp_path)
    assert shown.returncode == 0, shown.stderr
    assert b"classification: tuyet_mat" in shown.stdout
    assert not SECRET_NUMBER.search(shown.stdout.decode("utf-8", "replace"))

    before = len(live.sink.messages)
    released = command("quarantine", "release", reference, "--by", "kiemsoat",
                       "--config", str(config), cwd=tmp_path)
    assert released.returncode == 0, released.stderr
    assert f"released {reference}".encode() in released.stdout
    (got,) = arrivals(live.sink, before, 1)
    assert (got.mail_from, got.rcpt_tos) == (SENDER, [RECIPIENT])
    assert got.content.startswith(f"X-TTH-Released: {reference}; by=kiemsoat; ".encode())
    assert got.content.endswith(raw)
    assert store(live).get(reference).status is HoldStatus.RELEASED


def test_population_density_report_is_not_held(live: Live) -> None:
    report = official_pdf(OfficialPaper(
        number="15/BC-CTK", title="BÁO CÁO", issuer=("CỤC THỐNG KÊ", "TỈNH THỪA THIÊN HUẾ"),
        body=("Mật độ dân số năm 2024 đạt 230 người/km2.",
              "Quan hệ phối hợp mật thiết giữa các đơn vị."),
    ))
    sender = "thongke@example.org"
    raw = to_bytes(message(sender=sender, to=RECIPIENT,
                           subject="Báo cáo mật độ dân số năm 2024",
                           body="Gửi báo cáo mật độ dân số và mật ong Huế.\n",
                           attachments=[Attachment("bao-cao-mat-do.pdf", report)]))
    before = len(live.sink.messages)
    held_before = len(store(live).find())
    outcome = send(live, sender, [RECIPIENT], raw, client_ip=OUTSIDE_IP, utf8=True)
    assert outcome.data is not None
    assert outcome.data[0] == 250 and outcome.data[1].startswith("2.0.0 ")
    (got,) = arrivals(live.sink, before, 1)
    assert got.rcpt_tos == [RECIPIENT] and got.content.endswith(raw)
    assert len(store(live).find()) == held_before
    record = live.last_audit()
    assert record["outcome"] == "relayed" and record["classification"] is None
    assert "classified-never-relayed" not in [rule["name"] for rule in record["rules"]]


def held_for_uninspectable(live: Live, raw: bytes) -> dict[str, Any]:
    """Send from inside; expect 250 2.6.0 by an `uninspectable-*` rule; the audit record."""
    before = len(live.sink.messages)
    outcome = send(live, SENDER, [RECIPIENT], raw, utf8=True)
    assert outcome.data is not None
    code, text = outcome.data
    assert code == 250, text
    assert "Message held for review by rule uninspectable-" in text
    notices = arrivals(live.sink, before, 1)
    assert notices and all(notice.mail_from == "<>" for notice in notices)
    assert all(RECIPIENT not in notice.rcpt_tos for notice in notices)
    record = live.last_audit()
    assert record["outcome"] == "quarantined"
    return record


def test_encrypted_pdf_without_official_marks_from_inside_is_held(live: Live) -> None:
    locked = encrypted_pdf(OfficialPaper(number=None, title=None))
    raw = to_bytes(message(attachments=[Attachment("tai-lieu.pdf", locked)]))
    record = held_for_uninspectable(live, raw)
    assert record["rules"][0]["name"] == "uninspectable-from-agencies"


def test_encrypted_official_pdf_from_inside_gets_the_uninspectable_action(live: Live) -> None:
    raw = to_bytes(message(attachments=[Attachment("giay-moi.pdf", encrypted_pdf())]))
    record = held_for_uninspectable(live, raw)
    assert record["rules"][0]["name"] == "uninspectable-official-documents"


@cache
def slow_to_analyse() -> bytes:
    """A scanned page: reading it by OCR takes seconds, far over the short time limits
    below, however fast the rest of the analysis is."""
    return to_bytes(message(attachments=[Attachment("scan0002.pdf", scanned_official_pdf())]))


def test_analysis_over_its_time_limit_fails_closed(tmp_path: Path) -> None:
    """Never relayed unchecked: held as unanalysable (the default policy), not an endless
    451 (see test_live_unanalysable for the memory of it and the tempfail choice)."""
    timeouts = metric("tth_analysis_timeouts_total")
    with started_sink() as sink, \
            live_gateway(sink, live_settings(sink.address, tmp_path, time_limit=0.05)) as live:
        outcome = send(live, SENDER, [RECIPIENT], slow_to_analyse(), utf8=True)
        assert outcome.data is not None and outcome.data[0] == 250, outcome
        assert "held" in outcome.data[1].lower()
        record = live.last_audit()
    assert all(RECIPIENT not in got.rcpt_tos for got in sink.messages)
    assert record["outcome"] == "quarantined"
    assert [rule["name"] for rule in record["rules"]] == ["unanalysable"]
    assert metric("tth_analysis_timeouts_total") == timeouts + 1


def test_gateway_recovers_after_an_analysis_time_limit(tmp_path: Path) -> None:
    small = to_bytes(message(body="Lịch họp tuần sau.\n"))
    with started_sink() as sink, \
            live_gateway(sink, live_settings(sink.address, tmp_path, time_limit=0.1)) as live:
        assert send(live, SENDER, [RECIPIENT], small, utf8=True).final[0] == 250
        assert send(live, SENDER, [RECIPIENT], slow_to_analyse(), utf8=True).final[0] == 250
        assert live.last_audit()["outcome"] == "quarantined"
        time.sleep(2.0)
        assert send(live, SENDER, [RECIPIENT], small, utf8=True).final[0] == 250
        assert live.last_audit()["outcome"] == "relayed"


def test_relayed_message_header_lists_the_documents(live: Live) -> None:
    sender = "thongtin@example.org"
    raw = to_bytes(message(sender=sender, to=RECIPIENT,
                           attachments=[Attachment("giay-moi-hop.pdf", official_pdf())]))
    before = len(live.sink.messages)
    outcome = send(live, sender, [RECIPIENT], raw, client_ip=OUTSIDE_IP, utf8=True)
    assert outcome.final[0] == 250
    (got,) = arrivals(live.sink, before, 1)
    assert 'X-TTH-Documents: "giay-moi-hop.pdf" giay_moi signature=missing' in header_block(got)
