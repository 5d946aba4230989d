"""The quarantine's life on the local store, through the command as the officer runs it:
search, per-recipient release, officer-only release of classified holds, the audit
log, retention, and the bilingual digest sent to a real upstream."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime, timedelta
from email import message_from_string
from email.policy import default
from pathlib import Path

import pytest

from gateway.actions.release import NotAllowed
from gateway.cli.quarantine import acting_user, login_user
from gateway.quarantine.heldmeta import HoldStatus, hold_request
from gateway.quarantine.local import QuarantineStore
from tests.support.builders import LISTS, copy_default
from tests.support.samples import (
    ENVELOPE,
    MESSAGE,
    classified_analysis,
    quarantine_cli,
    quarantine_verdict,
)
from tests.support.sink import Sink

#: The default policy's security officer (policies/settings.yaml).
OFFICER = "baomat@thuathienhue.gov.vn"
POLICIES = Path(__file__).resolve().parents[2] / "policies"
FIRST, SECOND = ENVELOPE.rcpt_tos


def config_for(tmp_path: Path, upstream: str, officers: list[str],
               policies: Path = POLICIES) -> str:
    path = tmp_path / "gateway.json"
    path.write_text(json.dumps({
        "upstream": {"address": upstream, "starttls": "off", "connect_timeout": 2},
        "quarantine": {"path": str(tmp_path / "q"), "officers": officers},
        "audit": {"path": str(tmp_path / "audit.jsonl")},
        "policies": str(policies),
    }))
    return str(path)


def audit(tmp_path: Path) -> list[dict[str, object]]:
    lines = (tmp_path / "audit.jsonl").read_text().splitlines()
    return [json.loads(line) for line in lines]


@pytest.fixture
def store(tmp_path: Path) -> QuarantineStore:
    return QuarantineStore(tmp_path / "q")


def hold(store: QuarantineStore, *, classified: bool, when: datetime | None = None) -> str:
    analysis = classified_analysis() if classified else None
    return store.hold(MESSAGE, hold_request(ENVELOPE, quarantine_verdict(), analysis), now=when)


def test_list_searches_by_sender_recipient_rule_and_date(
    store: QuarantineStore, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    old = hold(store, classified=True, when=datetime(2026, 1, 5, tzinfo=UTC))
    new = hold(store, classified=False)
    config = config_for(tmp_path, "127.0.0.1:1", [])

    def ids(*argv: str) -> list[str]:
        assert quarantine_cli("list", "--config", config, "--json", *argv) == 0
        return [record["id"] for record in json.loads(capsys.readouterr().out)]

    assert ids() == [old, new]
    assert ids("--sender", ENVELOPE.mail_from.upper()) == [old, new]
    assert ids("--sender", "other@x.vn") == []
    assert ids("--rcpt", SECOND) == [old, new]
    assert ids("--rule", "classified-never-by-mail", "--until", "2026-02-01") == [old]
    assert ids("--since", "2026-02-01") == [new]
    assert ids("--classification", "toi_mat") == [old]
    assert ids("--rule", "no-such-rule") == []


def test_a_recipient_gets_a_mis_held_message_and_it_is_recorded(
    sink: Sink, store: QuarantineStore, tmp_path: Path
) -> None:
    held_id = hold(store, classified=False)
    config = config_for(tmp_path, sink.address, ["someone-else"])
    assert quarantine_cli("release", held_id, "--config", config, "--rcpt", SECOND,
               "--reason", "invitation, asked by the recipient") == 0
    assert [m.rcpt_tos for m in sink.messages] == [[SECOND]]
    metadata = store.get(held_id)
    assert metadata.status is HoldStatus.HELD  # still held for the other recipient
    assert metadata.release is not None
    assert metadata.release.reason == "invitation, asked by the recipient"
    assert metadata.release.by == login_user()
    assert quarantine_cli("release", held_id, "--config", config) == 0
    assert [m.rcpt_tos for m in sink.messages] == [[SECOND], [FIRST]]
    assert store.get(held_id).status is HoldStatus.RELEASED
    events = audit(tmp_path)
    assert [e["event"] for e in events] == ["quarantine.release"] * 2
    assert events[0]["recipients"] == [SECOND] and events[0]["by"] == login_user()
    assert events[0]["reason"] == "invitation, asked by the recipient"


def test_a_recipient_who_had_the_message_is_not_sent_it_again(
    sink: Sink, store: QuarantineStore, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    held_id = hold(store, classified=False)
    config = config_for(tmp_path, sink.address, [])
    assert quarantine_cli("release", held_id, "--config", config, "--rcpt", SECOND) == 0
    for _ in range(2):
        assert quarantine_cli("release", held_id, "--config", config,
                              "--rcpt", SECOND.upper()) == 2  # wrong state
        assert f"already released to (or refused for good by) {SECOND.upper()}" in (
            capsys.readouterr().err)
    assert [m.rcpt_tos for m in sink.messages] == [[SECOND]]
    assert len(store.get(held_id).releases) == 1
    assert len(audit(tmp_path)) == 1


def test_a_recipient_refused_for_good_ends_the_hold(
    sink: Sink, store: QuarantineStore, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    held_id = hold(store, classified=False)
    config = config_for(tmp_path, sink.address, [])
    sink.behaviour.refuse_rcpt[SECOND] = "550 5.1.1 No such user"
    assert quarantine_cli("release", held_id, "--config", config) == 0
    assert store.get(held_id).status is HoldStatus.RELEASED
    capsys.readouterr()
    assert quarantine_cli("list", "--config", config, "--json", "--status", "held") == 0
    assert json.loads(capsys.readouterr().out) == []
    assert quarantine_cli("release", held_id, "--config", config) == 2
    assert "released, not held" in capsys.readouterr().err
    assert [m.rcpt_tos for m in sink.messages] == [[FIRST]]
    assert audit(tmp_path)[0]["status"] == "released"


def test_a_classified_hold_is_released_only_by_an_officer(
    sink: Sink, store: QuarantineStore, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    held_id = hold(store, classified=True)
    not_officer = config_for(tmp_path, sink.address, ["officer-name"])
    assert quarantine_cli("release", held_id, "--config", not_officer) == 77
    assert "only a security officer" in capsys.readouterr().err
    assert quarantine_cli("release", held_id, "--config", not_officer, "--by", "officer-name",
               "--rcpt", FIRST) == 77  # classified: never to some recipients
    assert sink.messages == []
    assert quarantine_cli("release", held_id, "--config", not_officer, "--by", "officer-name") == 0
    assert len(sink.messages) == 1
    assert store.get(held_id).release.by == "officer-name"  # type: ignore[union-attr]


def test_only_root_may_act_in_another_name(monkeypatch: pytest.MonkeyPatch) -> None:
    assert acting_user(None) == login_user()
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    with pytest.raises(NotAllowed, match="only root"):
        acting_user("officer-name")
    assert acting_user(login_user()) == login_user()


def test_delete_is_audited_with_who_and_why(store: QuarantineStore, tmp_path: Path) -> None:
    held_id = hold(store, classified=True)
    config = config_for(tmp_path, "127.0.0.1:1", [])
    assert quarantine_cli("delete", held_id, "--config", config, "--reason", "spam") == 0
    event = audit(tmp_path)[-1]
    assert (event["event"], event["reference"], event["by"], event["reason"]) == (
        "quarantine.delete", held_id, login_user(), "spam")
    deletion = store.get(held_id).deletion
    assert deletion is not None and deletion.reason == "spam"


def test_purge_applies_the_retention_of_each_status(store: QuarantineStore,
                                                    tmp_path: Path) -> None:
    stale = hold(store, classified=True, when=datetime.now(UTC) - timedelta(days=100))
    fresh = hold(store, classified=True)
    config = config_for(tmp_path, "127.0.0.1:1", [])
    assert quarantine_cli("purge", "--config", config) == 0
    assert store.get(stale).status is HoldStatus.DELETED
    assert not list((tmp_path / "q").glob(f"{stale}.eml*"))  # the body is destroyed
    assert store.get(fresh).status is HoldStatus.HELD
    assert store.read_message(fresh) == MESSAGE
    assert [e["reference"] for e in audit(tmp_path)] == [stale]


def test_the_digest_goes_to_the_officer_in_both_languages(
    sink: Sink, store: QuarantineStore, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    held = hold(store, classified=True)
    hold(store, classified=False, when=datetime.now(UTC) - timedelta(days=3))
    config = config_for(tmp_path, sink.address, [])
    assert quarantine_cli("digest", "--config", config) == 0
    assert [m.rcpt_tos for m in sink.messages] == [[OFFICER]]
    assert sink.messages[0].mail_from == "<>"
    capsys.readouterr()
    assert quarantine_cli("digest", "--config", config, "--print") == 0
    digest = message_from_string(capsys.readouterr().out, policy=default)
    assert digest["To"] == OFFICER
    text = digest.get_content()  # type: ignore[attr-defined]
    assert held in text and "1 message(s)" in text
    assert "Bản tổng hợp thư bị giữ lại" in text and "classified-never-by-mail" in text
    assert "MẬT" not in text  # the digest itself carries no stamp


def test_the_digest_goes_to_the_policys_officer_and_needs_one(
    sink: Sink, store: QuarantineStore, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The officer's address is the policy's settings.security_officer, the one place it
    is written (not the configuration's notices, which no longer take it)."""
    hold(store, classified=True)
    (tmp_path / "policies").mkdir()
    policies = copy_default(tmp_path / "policies")
    settings = policies / "settings.yaml"
    text = settings.read_text("utf-8")
    settings.write_text(text.replace(f"security_officer: {OFFICER}",
                                     "security_officer: thanhtra@hue.gov.vn"), "utf-8")
    config = config_for(tmp_path, sink.address, [], policies)
    assert quarantine_cli("digest", "--config", config) == 0
    assert [m.rcpt_tos for m in sink.messages] == [["thanhtra@hue.gov.vn"]]
    settings.write_text(text.replace(f"  security_officer: {OFFICER}\n", ""), "utf-8")
    capsys.readouterr()
    assert quarantine_cli("digest", "--config", config) == 2  # rules notify a missing officer
    error = capsys.readouterr().err
    assert "notify security_officer: settings.security_officer is not set" in error
    assert f"the policy in {policies} does not load" in error
    bare = tmp_path / "bare"
    bare.mkdir()
    (bare / "lists.yaml").write_text(LISTS.replace(f"  security_officer: {OFFICER}\n", ""),
                                     "utf-8")
    assert quarantine_cli("digest", "--config", config_for(tmp_path, sink.address, [], bare)) == 2
    error = capsys.readouterr().err
    assert f"the policy in {bare} names no security officer (settings.security_officer)" in error
    assert len(sink.messages) == 1
