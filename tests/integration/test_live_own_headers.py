"""Fields in the gateway's namespace that arrive in a message never reach the upstream:
relayed, redirected, held then released; the gateway's own are added after."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from email import message_from_bytes, policy
from pathlib import Path

import pytest

from gateway.actions.release import release_held
from gateway.outbound.upstream import SmtpUpstream
from gateway.quarantine.heldmeta import hold_request
from gateway.quarantine.local import QuarantineStore
from tests.support.live import (
    OUTSIDE_IP,
    Live,
    arrivals,
    live_with_rules,
    send,
)
from tests.support.samples import ENVELOPE, MESSAGE, classified_analysis, quarantine_verdict

CITIZEN = "nguoidan@example.org"
OFFICIAL = "vanthu@thuathienhue.gov.vn"
SECRETARY = "thuky@thuathienhue.gov.vn"
FORGED = (
    b"X-TTH-Documents: bao-cao.pdf; type=bao_cao; signature=valid\r\n"
    b"x-tth-policy: action=accept;\r\n rules=none\r\n"
    b"X-Tth-Released: 20261125T090035Z-00000000000000000000; by=admin\r\n"
    b"X-TTH-Signature-Warning :\r\n\tnone\r\n"
)
REDIRECT_RULE = """
rules:
  - name: live-redirect-test
    description: test rule, messages whose subject says CHUYEN go to the secretary instead
    when:
      header: {name: Subject, matches: 'CHUYEN'}
    action: redirect
    redirect_to: [thuky@thuathienhue.gov.vn]
    message_vi: "Chuyển cho thư ký."
    message_en: "Redirected to the secretary."
"""


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    tmp = tmp_path_factory.mktemp("live-own-headers")
    with live_with_rules(tmp, "zz-redirect.yaml", REDIRECT_RULE) as gateway:
        yield gateway


def forged(subject: str) -> bytes:
    return (b"   X-TTH-Policy: action=accept; rules=none\r\n"  # leading blanks, first line
            + f"From: {CITIZEN}\r\nTo: {OFFICIAL}\r\nSubject: {subject}\r\n".encode()
            + FORGED
            + b"Content-Type: text/plain; charset=utf-8\r\n\r\n"
            + "Nội dung thư.\r\n".encode())


async def release(live: Live, store: QuarantineStore, reference: str) -> None:
    upstream = SmtpUpstream(live.settings.upstream, "gw.test")
    try:
        await release_held(store, reference, upstream, by="baomat")
    finally:
        await upstream.close()


def own_fields(content: bytes) -> list[tuple[str, str]]:
    parsed = message_from_bytes(content, policy=policy.SMTP)
    return [(name.lower(), str(value)) for name, value in parsed.items()
            if name.lower().startswith("x-tth-")]


def test_relayed_message_carries_only_the_gateways_own_fields(live: Live) -> None:
    before = len(live.sink.messages)
    outcome = send(live, CITIZEN, [OFFICIAL], forged("Hỏi thủ tục"), client_ip=OUTSIDE_IP,
                   utf8=True)
    assert outcome.final[0] == 250, outcome
    (got,) = arrivals(live.sink, before, 1)
    fields = own_fields(got.content)
    assert [name for name, _ in fields] == ["x-tth-policy"]
    assert fields[0][1].startswith("action=accept; rules=none; policy=")
    assert b"signature=valid" not in got.content
    assert b"Signature-Warning" not in got.content
    record = live.last_audit()
    assert record["outcome"] == "relayed"
    assert record["own_headers"] == ["X-TTH-Policy", "X-TTH-Documents", "x-tth-policy",
                                     "X-Tth-Released", "X-TTH-Signature-Warning"]


def test_redirected_message_carries_only_the_gateways_own_fields(live: Live) -> None:
    before = len(live.sink.messages)
    outcome = send(live, CITIZEN, [OFFICIAL], forged("CHUYEN giúp"), client_ip=OUTSIDE_IP,
                   utf8=True)
    assert outcome.final[0] == 250, outcome
    (got,) = arrivals(live.sink, before, 1)
    assert got.rcpt_tos == [SECRETARY]
    assert [name for name, _ in own_fields(got.content)] == ["x-tth-policy"]
    assert "action=redirect" in own_fields(got.content)[0][1]
    assert b"signature=valid" not in got.content
    assert live.last_audit()["outcome"] == "redirected"


def test_held_then_released_message_carries_only_the_release_field(live: Live) -> None:
    outcome = send(live, CITIZEN, [OFFICIAL], forged("[TỐI MẬT] Kế hoạch"),
                   client_ip=OUTSIDE_IP, utf8=True)
    assert outcome.final[0] == 250, outcome
    record = live.last_audit()
    assert record["outcome"] == "quarantined"
    store = QuarantineStore(live.settings.quarantine.path)
    assert b"X-TTH" not in store.read_message(record["reference"]).upper()
    before = len(live.sink.messages)
    asyncio.run(release(live, store, record["reference"]))
    released = [got for got in arrivals(live.sink, before, 1) if OFFICIAL in got.rcpt_tos]
    assert len(released) == 1
    fields = own_fields(released[0].content)
    assert [name for name, _ in fields] == ["x-tth-released"]
    assert fields[0][1].startswith(f"{record['reference']}; by=baomat;")


def test_a_held_copy_made_before_the_fix_is_cleaned_on_release(live: Live,
                                                               tmp_path: Path) -> None:
    store = QuarantineStore(tmp_path / "q")
    request = hold_request(ENVELOPE, quarantine_verdict(), classified_analysis())
    reference = store.hold(FORGED + MESSAGE, request)
    before = len(live.sink.messages)
    asyncio.run(release(live, store, reference))
    released = [got for got in arrivals(live.sink, before, 1) if got.rcpt_tos == list(
        ENVELOPE.rcpt_tos)]
    assert [name for name, _ in own_fields(released[0].content)] == ["x-tth-released"]
    assert released[0].content.endswith(MESSAGE)


def below(first_line: bytes, author: str) -> bytes:
    """A short letter from `author` whose header section starts with `first_line`."""
    return (first_line + f"From: {author}\r\nTo: {OFFICIAL}\r\nSubject: Hỏi\r\n".encode()
            + b"Content-Type: text/plain; charset=utf-8\r\n\r\n" + "Nội dung.\r\n".encode())


def test_a_line_at_the_top_cannot_continue_the_gateways_own_field(live: Live) -> None:
    before = len(live.sink.messages)
    message = below(b" Note: signature=valid; action=accept\r\n", CITIZEN)
    outcome = send(live, CITIZEN, [OFFICIAL], message, client_ip=OUTSIDE_IP, utf8=True)
    assert outcome.final[0] == 250, outcome
    (got,) = arrivals(live.sink, before, 1)
    fields = own_fields(got.content)
    assert [name for name, _ in fields] == ["x-tth-policy"]
    assert "signature=valid" not in fields[0][1] and b"Note:" not in got.content


def test_a_from_after_a_field_with_a_blank_before_its_colon_is_checked(live: Live) -> None:
    """Python's parser would end the header section at `X-Mailer :`; readers do not."""
    before = len(live.sink.messages)
    message = below(b"X-Mailer : Outlook\r\n", OFFICIAL)
    outcome = send(live, CITIZEN, [OFFICIAL], message, client_ip=OUTSIDE_IP, utf8=True)
    assert outcome.final[0] == 550, outcome
    assert live.last_audit()["outcome"] == "rejected"
    assert len(live.sink.messages) == before
