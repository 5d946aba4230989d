"""One place for the security officer's address (issue 9): the policy's
`settings.security_officer`. The decision carries it from the policy the transaction was
decided under, and a hold tells that address (the officer's version of the notice); the
gateway's configuration no longer names an officer."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from email import message_from_bytes
from email.policy import default
from pathlib import Path

import pytest

from gateway.actions.holding import QuarantineHolding
from gateway.analysis.model import Analysis
from gateway.analysis.pool import AnalysisJob, Unanalysable
from gateway.config import Settings
from gateway.deciding.decider import PolicyTransaction
from gateway.deciding.seam import MessageDecision
from gateway.mail.envelope import Envelope
from gateway.mail.spool import Spool
from gateway.outbound.maildir import MaildirUpstream
from gateway.policy.loader import Policy, load_policy
from gateway.policy.verdict import Action
from gateway.signatures.setup import CheckerCache
from tests.support.builders import copy_default

#: Not the default policy's officer (baomat@thuathienhue.gov.vn).
OFFICER = "thanhtra@hue.gov.vn"
SENDER = "van.a@thuathienhue.gov.vn"
ENVELOPE = Envelope(SENDER, ("phong.b@thuathienhue.gov.vn",), client_ip="10.0.0.5")
CLASSIFIED = (
    "From: van.a@thuathienhue.gov.vn\r\nTo: phong.b@thuathienhue.gov.vn\r\n"
    "Subject: [TỐI MẬT] Kế hoạch\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
    "Phương án số 7731\r\n"
).encode()
WITH_PDF = (
    b"From: van.a@thuathienhue.gov.vn\r\nTo: phong.b@thuathienhue.gov.vn\r\nSubject: x\r\n"
    b"Content-Type: application/pdf\r\n\r\n%PDF-1.7\r\n"
)


class TimesOut:
    """An analysis that never finishes (the worker's time limit)."""

    async def run(self, job: AnalysisJob) -> Analysis:
        raise Unanalysable("timeout", "analysis took longer than 30 s")


def policy_naming(officer: str, folder: Path) -> Policy:
    """The default policy with `officer` as its security officer."""
    settings = copy_default(folder) / "settings.yaml"
    text = settings.read_text("utf-8")
    assert "security_officer: baomat@thuathienhue.gov.vn" in text
    settings.write_text(text.replace("security_officer: baomat@thuathienhue.gov.vn",
                                     f"security_officer: {officer}"), "utf-8")
    return load_policy(folder)


def spooled(raw: bytes) -> Spool:
    spool = Spool(threshold=1 << 20)
    spool.write(raw)
    return spool


def decide(policy: Policy, raw: bytes, runner: object | None = None) -> MessageDecision:
    checkers = CheckerCache()
    transaction = PolicyTransaction(policy, None, runner or TimesOut(),  # type: ignore[arg-type]
                                    checkers)
    return asyncio.run(transaction.message(ENVELOPE, spooled(raw)))


def notices_of_hold(decision: MessageDecision, raw: bytes, tmp_path: Path) -> dict[str, str]:
    """Hold the message as the action stage does; the queued notices' text by recipient."""
    settings = Settings.model_validate({"quarantine": {"path": str(tmp_path / "q")}},
                                       strict=False)
    holding = QuarantineHolding(settings, MaildirUpstream(tmp_path / "out"))
    try:
        asyncio.run(holding.hold(spooled(raw), ENVELOPE, decision, "S1.T1"))
        batch = holding.store.claim_notices(datetime.now(UTC), 10)
        try:
            found = {}
            for notice in batch.notices:
                parsed = message_from_bytes(notice.data, policy=default)
                body = parsed.get_body(("plain",))
                assert body is not None
                [recipient] = notice.recipients
                found[recipient] = str(body.get_content())  # type: ignore[attr-defined]
            return found
        finally:
            batch.close()
    finally:
        holding.store.close()


@pytest.fixture
def policy(tmp_path: Path) -> Policy:
    folder = tmp_path / "policies"
    folder.mkdir()
    return policy_naming(OFFICER, folder)


def test_a_held_message_tells_the_policys_officer(policy: Policy, tmp_path: Path) -> None:
    decision = decide(policy, CLASSIFIED)
    assert decision.verdict.action is Action.QUARANTINE
    assert decision.security_officer == OFFICER
    notices = notices_of_hold(decision, CLASSIFIED, tmp_path)
    assert set(notices) == {SENDER, OFFICER}
    assert "10.0.0.5" in notices[OFFICER]  # the officer's version
    assert "quarantine show|release|delete" in notices[OFFICER]
    assert "10.0.0.5" not in notices[SENDER]


def test_an_unanalysable_hold_tells_the_officer_too(policy: Policy, tmp_path: Path) -> None:
    decision = decide(policy, WITH_PDF)
    assert decision.verdict.action is Action.QUARANTINE
    assert decision.verdict.rules[0].name == "unanalysable"
    assert decision.security_officer == OFFICER
    notices = notices_of_hold(decision, WITH_PDF, tmp_path)
    assert set(notices) == {SENDER, OFFICER}
    assert "10.0.0.5" in notices[OFFICER]


def test_every_hold_of_the_default_policy_names_the_officer() -> None:
    """The officer used to hear of every hold (the configuration's officer); now the
    rules say so: each quarantine rule of the default policy notifies the officer."""
    policy = load_policy(Path(__file__).resolve().parents[3] / "policies")
    officer = policy.settings.security_officer
    assert officer == "baomat@thuathienhue.gov.vn"
    holding = [rule for rule in policy.rules if rule.action is Action.QUARANTINE]
    assert holding
    for rule in holding:
        assert "security_officer" in rule.notify, rule.name
