"""A message the analysis cannot finish in time, through the live gateway with real worker
processes: held as unanalysable (the default policy), never an endless 451; its retry is
answered at once from memory, without another analysis; tempfail is a policy choice."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from gateway.quarantine.local import QuarantineStore
from tests.fixtures.documents import Attachment, message, to_bytes
from tests.fixtures.pki import Pki
from tests.fixtures.scans import scanned_official_pdf
from tests.fixtures.signed import pki_at, signed_pdf
from tests.support.live import (
    OUTSIDE_IP,
    Live,
    copy_policies,
    live_gateway,
    live_settings,
    metric,
    send,
    started_sink,
)

CITIZEN = "nguoidan@example.org"
OFFICIAL = "vanthu@thuathienhue.gov.vn"


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    return pki_at(tmp_path_factory.mktemp("pki"))


@pytest.fixture(scope="module")
def slow_message(pki: Pki) -> bytes:
    """A scanned page (read by OCR: seconds) and twenty distinct signed PDFs: far more
    than the 0.2 s time limit below of a worker's time."""
    pdfs = [Attachment(f"giay-moi-{i}.pdf", signed_pdf(pki, "valid", noise_bytes=1000 * i))
            for i in range(20)]
    scan = Attachment("scan0001.pdf", scanned_official_pdf())
    return to_bytes(message(sender=CITIZEN, to=OFFICIAL, attachments=[scan, *pdfs]))


@contextmanager
def _live(tmp: Path, pki: Pki, outcome: str | None) -> Iterator[Live]:
    policies = copy_policies(tmp / "policies")
    if outcome is not None:
        path = policies / "settings.yaml"
        text = path.read_text("utf-8")
        path.write_text(re.sub(r"(?m)^  unanalysable: \w+$", f"  unanalysable: {outcome}",
                               text), "utf-8")
    with started_sink() as sink, live_gateway(
            sink, live_settings(sink.address, tmp, policies=policies, pki=pki,
                                time_limit=0.2)) as gateway:
        yield gateway


@pytest.fixture(scope="module")
def live(pki: Pki, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    with _live(tmp_path_factory.mktemp("live-unanalysable"), pki, None) as gateway:
        yield gateway


def test_unanalysable_message_is_held_and_its_retry_answered_from_memory(
    live: Live, slow_message: bytes
) -> None:
    timeouts = metric("tth_analysis_timeouts_total")
    first = send(live, CITIZEN, [OFFICIAL], slow_message, client_ip=OUTSIDE_IP)
    assert first.final[0] == 250, first
    assert "held" in first.final[1].lower()
    record = live.last_audit()
    assert record["outcome"] == "quarantined"
    assert [rule["name"] for rule in record["rules"]] == ["unanalysable"]
    assert "exceeded 0.2 s" in record["rules"][0]["reason"]
    held = QuarantineStore(live.settings.quarantine.path).get(record["reference"])
    assert held.decision.action == "quarantine"
    assert metric("tth_analysis_timeouts_total") == timeouts + 1

    again = send(live, CITIZEN, [OFFICIAL], slow_message, client_ip=OUTSIDE_IP)
    assert again.final[0] == 250, again
    retry = live.last_audit()
    assert retry["outcome"] == "quarantined"
    assert "remembered" in retry["rules"][0]["reason"]
    assert metric("tth_analysis_timeouts_total") == timeouts + 1  # no second analysis
    assert metric("tth_unanalysable_total", {"cause": "timeout"}) >= 2


def test_tempfail_is_a_policy_choice(pki: Pki, slow_message: bytes, tmp_path: Path) -> None:
    with _live(tmp_path, pki, "tempfail") as live:
        outcome = send(live, CITIZEN, [OFFICIAL], slow_message, client_ip=OUTSIDE_IP)
        assert outcome.final[0] == 451, outcome
        assert outcome.final[1].startswith("4.3.0")
        assert live.last_audit()["rules"][0]["name"] == "unanalysable"
