"""Signed designated documents through the live gateway, and the same through `check --json`.

The fixture PKI is built once per session and configured as the trust store
(anchors, intermediates, CRLs); one gateway serves the module.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from email import message_from_bytes, policy
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from prometheus_client import REGISTRY

from gateway.policy.wording import STATUS_VI
from tests.fixtures.documents import Attachment, message, to_bytes
from tests.fixtures.pki import PERSON_EMAIL, Pki
from tests.fixtures.signed import pki_at, signed_pdf, smime_messages
from tests.support.dnsserver import shared_dns
from tests.support.live import (
    INSIDE_IP,
    OUTSIDE_IP,
    POLICIES,
    Live,
    arrivals,
    command,
    header_block,
    live_gateway,
    live_settings,
    rule_hits,
    send,
    started_sink,
)

OFFICIAL_RECIPIENT = "vanphong@thuathienhue.gov.vn"
FILENAME = "giay-moi-hop.pdf"
REFUSED = {
    "unsigned": "signature missing",
    "tampered": "signature invalid",
    "modified_after_signing": "signature modified",
    "revoked": "signature revoked",
    "expired": "signature expired",
    "untrusted": "signature untrusted",
}


@pytest.fixture(scope="session")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    return pki_at(tmp_path_factory.mktemp("pki"))


@pytest.fixture(scope="module")
def live(pki: Pki, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    tmp = tmp_path_factory.mktemp("live-signatures")
    with started_sink() as sink, \
            live_gateway(sink, live_settings(sink.address, tmp, pki=pki)) as gateway:
        yield gateway


@cache
def invitation(pki: Pki, case: str, sender: str = PERSON_EMAIL) -> bytes:
    """A message from `sender` carrying the GIẤY MỜI (Số: 12/GM-UBND) of `case`."""
    return to_bytes(message(sender=sender, to=OFFICIAL_RECIPIENT,
                            attachments=[Attachment(FILENAME, signed_pdf(pki, case))]))


@pytest.mark.parametrize("case", ["valid", "timestamped", "two_signatures"])
def test_validly_signed_invitation_from_inside_is_relayed_with_the_summary(
    live: Live, pki: Pki, case: str
) -> None:
    before = len(live.sink.messages)
    raw = invitation(pki, case)
    outcome = send(live, PERSON_EMAIL, [OFFICIAL_RECIPIENT], raw, utf8=True)
    assert outcome.final[0] == 250, outcome.final
    (got,) = arrivals(live.sink, before, 1)
    assert got.content.endswith(raw)
    head = header_block(got)
    assert f'X-TTH-Documents: "{FILENAME}" giay_moi signature=valid' in head
    assert "X-TTH-Policy: action=accept;" in head
    record = live.last_audit()
    assert (record["outcome"], record["direction"]) == ("relayed", "internal")
    assert [(d["doc_type"], d["signature"]) for d in record["documents"] if d["filename"]] == \
        [("giay_moi", "valid")]


@pytest.mark.parametrize("case", list(REFUSED))
def test_invitation_without_a_valid_signature_from_inside_is_refused(
    live: Live, pki: Pki, case: str
) -> None:
    before = len(live.sink.messages)
    hits = rule_hits("designated-documents-signed", "enforce", "reject")
    outcome = send(live, PERSON_EMAIL, [OFFICIAL_RECIPIENT], invitation(pki, case), utf8=True)
    assert outcome.data is not None
    code, text = outcome.data
    assert code == 550
    vi, en = text.splitlines()
    named = f'"{FILENAME}" (giay_moi): {REFUSED[case]}'
    named_vi = f'"{FILENAME}" (Giấy mời): {STATUS_VI[REFUSED[case].split()[1]]}'
    assert vi.startswith("5.7.1 Văn bản phải được ký số hợp lệ trước khi gửi: ")
    assert named_vi in vi and "signature" not in vi
    assert en.startswith("5.7.1 These documents need a valid digital signature before they "
                         "are sent: ") and named in en
    assert len(live.sink.messages) == before
    record = live.last_audit()
    assert (record["outcome"], record["action"]) == ("rejected", "reject")
    assert [rule["name"] for rule in record["rules"]] == ["designated-documents-signed"]
    assert rule_hits("designated-documents-signed", "enforce", "reject") == hits + 1


def test_unsigned_invitation_received_from_outside_is_relayed_with_a_warning(
    live: Live, pki: Pki
) -> None:
    sender = "thongtin@example.org"
    before = len(live.sink.messages)
    hits = rule_hits("designated-documents-unsigned-inbound", "enforce", "tag")
    raw = invitation(pki, "unsigned", sender)
    outcome = send(live, sender, [OFFICIAL_RECIPIENT], raw, client_ip=OUTSIDE_IP, utf8=True)
    assert outcome.final[0] == 250
    (got,) = arrivals(live.sink, before, 1)
    assert got.content.endswith(raw)
    added = message_from_bytes(got.content[: -len(raw)] + b"\r\n", policy=policy.default)
    warning = str(added["X-TTH-Signature-Warning"])
    assert warning == (f'chữ ký số không hợp lệ: "{FILENAME}" (Giấy mời): chưa ký số / '
                       f'signature not valid: "{FILENAME}" (giay_moi): signature missing')
    assert str(added["X-TTH-Policy"]).startswith(
        "action=tag; rules=designated-documents-unsigned-inbound;")
    assert rule_hits("designated-documents-unsigned-inbound", "enforce", "tag") == hits + 1


def test_document_signed_by_another_agency_is_counted_by_the_monitor_rule(
    live: Live, pki: Pki
) -> None:
    before = len(live.sink.messages)
    hits = rule_hits("signer-not-sending-agency", "monitor", "reject")
    outcome = send(live, PERSON_EMAIL, [OFFICIAL_RECIPIENT], invitation(pki, "other_agency"),
                   utf8=True)
    assert outcome.final[0] == 250
    assert len(arrivals(live.sink, before, 1)) == 1
    record = live.last_audit()
    assert record["action"] == "accept"
    assert ("signer-not-sending-agency", "monitor") in \
        [(rule["name"], rule["mode"]) for rule in record["rules"]]
    assert rule_hits("signer-not-sending-agency", "monitor", "reject") == hits + 1


@pytest.mark.parametrize(("case", "status"), [
    ("valid", "valid"), ("opaque", "valid"), ("invalid", "invalid"), ("untrusted", "untrusted"),
])
def test_smime_signed_message_status(live: Live, pki: Pki, case: str, status: str) -> None:
    before = len(live.sink.messages)
    raw = smime_messages(pki)[case]
    outcome = send(live, PERSON_EMAIL, [OFFICIAL_RECIPIENT], raw, utf8=True)
    assert outcome.final[0] == 250
    (got,) = arrivals(live.sink, before, 1)
    assert got.content.endswith(raw)
    record = live.last_audit()
    assert [d["signature"] for d in record["documents"]] == [status]


def check_json(pki: Pki, raw: bytes, folder: Path, client_ip: str) -> tuple[int, dict[str, Any]]:
    """`tth-gateway check --json` in a separate process, with the gateway's trust store."""
    eml = folder / "message.eml"
    eml.write_bytes(raw)
    done = command(
        "check", str(eml), "--json", "--policies", str(POLICIES),
        "--trust-anchors", str(pki.anchors), "--intermediates", str(pki.intermediates),
        "--crls", str(pki.crls), "--mail-from", PERSON_EMAIL, "--rcpt", OFFICIAL_RECIPIENT,
        "--client-ip", client_ip, "--dns", shared_dns(), cwd=folder,
    )
    assert done.returncode in (0, 1, 3, 4, 5, 6), done.stderr
    return done.returncode, json.loads(done.stdout)


@pytest.mark.parametrize(("case", "exit_code"), [("valid", 0), ("revoked", 6), ("unsigned", 6)])
def test_check_command_gives_the_live_verdict(
    live: Live, pki: Pki, tmp_path: Path, case: str, exit_code: int
) -> None:
    raw = invitation(pki, case)
    outcome = send(live, PERSON_EMAIL, [OFFICIAL_RECIPIENT], raw, client_ip=INSIDE_IP, utf8=True)
    record = live.last_audit()
    returned, verdict = check_json(pki, raw, tmp_path, INSIDE_IP)
    assert returned == exit_code
    assert verdict["action"] == record["action"]
    assert verdict["direction"] == record["direction"] == "internal"
    assert [rule["name"] for rule in verdict["rules"]] == \
        [rule["name"] for rule in record["rules"]]
    assert [(d["filename"], d["doc_type"], d["signature"]["status"])
            for d in verdict["documents"]] == \
        [(d["filename"], d["doc_type"], d["signature"]) for d in record["documents"]]
    assert (outcome.final[0] == 250) == (verdict["action"] == "accept")


def test_signature_validation_time_is_a_stage_of_its_own(live: Live, pki: Pki) -> None:
    """`tth_stage_seconds{stage="signatures"}`: measured in the analysis worker."""
    def observed() -> float:
        value = REGISTRY.get_sample_value("tth_stage_seconds_count", {"stage": "signatures"})
        return value or 0.0

    before = observed()
    outcome = send(live, PERSON_EMAIL, [OFFICIAL_RECIPIENT], invitation(pki, "valid"),
                   utf8=True)
    assert outcome.final[0] == 250
    assert observed() == before + 1
    total = REGISTRY.get_sample_value("tth_stage_seconds_sum", {"stage": "signatures"})
    assert total is not None and total > 0
