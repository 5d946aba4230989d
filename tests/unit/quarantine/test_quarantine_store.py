"""The quarantine store: durable files, metadata without content, encryption, ids, states."""

from __future__ import annotations

import base64
import hashlib
import json
import os
from datetime import UTC, datetime
from pathlib import Path

import pytest

from gateway.config import QuarantineSettings, load_settings
from gateway.mail.spool import Spool
from gateway.quarantine.errors import (
    HeldBusy,
    HeldNotFound,
    HeldStateError,
    InvalidHeldId,
    QuarantineError,
)
from gateway.quarantine.heldmeta import HoldRequest, HoldStatus, hold_request
from gateway.quarantine.local import QuarantineStore
from gateway.quarantine.records import ID_PATTERN
from gateway.quarantine.sealing import SealError, load_key
from tests.support.samples import (
    ENVELOPE,
    MESSAGE,
    SECRET_TEXT,
    classified_analysis,
    quarantine_verdict,
)

KEY = bytes(range(32))
OTHER_KEY = bytes(range(1, 33))


def request() -> HoldRequest:
    return hold_request(ENVELOPE, quarantine_verdict(), classified_analysis(), "S1.T1")


def test_hold_writes_message_and_metadata_that_parse(tmp_path: Path) -> None:
    store = QuarantineStore(tmp_path / "q")
    held_id = store.hold(MESSAGE, request())
    assert ID_PATTERN.match(held_id)
    assert (tmp_path / "q" / f"{held_id}.eml").read_bytes() == MESSAGE
    data = json.loads((tmp_path / "q" / f"{held_id}.json").read_text("utf-8"))
    assert data["id"] == held_id
    assert data["status"] == "held"
    assert data["size"] == len(MESSAGE)
    assert data["sha256"] == hashlib.sha256(MESSAGE).hexdigest()
    assert data["envelope"]["mail_from"] == "b@thuathienhue.gov.vn"
    assert data["envelope"]["rcpt_tos"] == ["c@thuathienhue.gov.vn", "d@hue.gov.vn"]
    assert data["envelope"]["client_ip"] == "10.20.30.40"
    assert data["decision"]["classification"] == "toi_mat"
    assert data["decision"]["rules"][0]["name"] == "classified-never-by-mail"
    assert {"level": "toi_mat", "stamp": "TỐI MẬT", "where": "subject"} in (
        data["decision"]["markings"]
    )
    assert data["decision"]["documents"] == [
        {"filename": "ke-hoach.pdf", "doc_type": "ke_hoach", "classification": "toi_mat",
         "signature": "valid"}
    ]
    assert data["session"] == "S1.T1"
    assert sorted(p.name for p in (tmp_path / "q").iterdir()) == [
        f"{held_id}.eml", f"{held_id}.json"
    ]


def test_metadata_never_holds_the_content(tmp_path: Path) -> None:
    store = QuarantineStore(tmp_path)
    held_id = store.hold(MESSAGE, request())
    metadata = (tmp_path / f"{held_id}.json").read_text("utf-8")
    assert SECRET_TEXT not in metadata
    assert "Kế hoạch" not in metadata  # the subject is content too


def test_folder_is_private(tmp_path: Path) -> None:
    QuarantineStore(tmp_path / "new").hold(MESSAGE, request())
    assert (tmp_path / "new").stat().st_mode & 0o077 == 0


def test_spool_is_stored_without_dot_stuffing(tmp_path: Path) -> None:
    spool = Spool(threshold=10)
    spool.write(MESSAGE.replace(b"\r\n.", b"\r\n.."))
    store = QuarantineStore(tmp_path)
    held_id = store.hold(spool, request(), header=b"Received: by gw.test\r\n")
    assert store.read_message(held_id) == b"Received: by gw.test\r\n" + MESSAGE
    assert store.get(held_id).size == len(MESSAGE) + len(b"Received: by gw.test\r\n")


def test_list_get_and_ids_are_unique(tmp_path: Path) -> None:
    store = QuarantineStore(tmp_path)
    early = store.hold(MESSAGE, request(), now=datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC))
    late = store.hold(MESSAGE, request())
    other = store.hold(MESSAGE, request())
    assert early.startswith("20260102T030405Z-")
    assert len({early, late, other}) == 3
    assert store.find()[0].id == early
    assert {m.id for m in store.find()} == {early, late, other}
    assert store.get(late).received.endswith("+00:00")


def test_list_of_a_missing_folder_is_empty(tmp_path: Path) -> None:
    assert QuarantineStore(tmp_path / "none").find() == []


@pytest.mark.parametrize(
    "bad",
    ["", "../../etc/passwd", "20261125T090035Z-0123456789abcdef0123/../x",
     "20261125T090035Z-0123456789abcdef0123\n", "20261125T090035Z-0123456789ABCDEF0123",
     "x" * 300, "20261125T090035Z-0123456789abcdef012"],
)
def test_bad_ids_are_refused_before_any_path(tmp_path: Path, bad: str) -> None:
    store = QuarantineStore(tmp_path)
    for operation in (store.get, store.read_message):
        with pytest.raises(InvalidHeldId, match="not a quarantine id"):
            operation(bad)
    with pytest.raises(InvalidHeldId), store.locked(bad):
        pass


def test_unknown_id_is_not_found(tmp_path: Path) -> None:
    store = QuarantineStore(tmp_path)
    with pytest.raises(HeldNotFound):
        store.get("20261125T090035Z-0123456789abcdef0123")
    with pytest.raises(HeldNotFound), store.locked("20261125T090035Z-0123456789abcdef0123"):
        pass


def test_encryption_round_trip(tmp_path: Path) -> None:
    store = QuarantineStore(tmp_path, KEY)
    held_id = store.hold(MESSAGE, request())
    stored = (tmp_path / f"{held_id}.eml.aes").read_bytes()
    assert SECRET_TEXT.encode() not in stored
    assert not (tmp_path / f"{held_id}.eml").exists()
    assert store.read_message(held_id) == MESSAGE
    assert store.get(held_id).encryption is not None


def test_wrong_key_or_no_key_is_a_clear_error(tmp_path: Path) -> None:
    held_id = QuarantineStore(tmp_path, KEY).hold(MESSAGE, request())
    with pytest.raises(SealError, match=r"encrypted with key .* configured key is"):
        QuarantineStore(tmp_path, OTHER_KEY).read_message(held_id)
    with pytest.raises(SealError, match="encryption_key_file"):
        QuarantineStore(tmp_path).read_message(held_id)


def test_altered_ciphertext_is_detected(tmp_path: Path) -> None:
    store = QuarantineStore(tmp_path, KEY)
    held_id = store.hold(MESSAGE, request())
    path = tmp_path / f"{held_id}.eml.aes"
    data = bytearray(path.read_bytes())
    data[-1] ^= 1
    path.write_bytes(bytes(data))
    with pytest.raises(SealError, match="wrong quarantine key, or the file was altered"):
        store.read_message(held_id)


def test_altered_plain_message_is_detected(tmp_path: Path) -> None:
    store = QuarantineStore(tmp_path)
    held_id = store.hold(MESSAGE, request())
    (tmp_path / f"{held_id}.eml").write_bytes(MESSAGE + b"extra")
    with pytest.raises(QuarantineError, match="SHA-256"):
        store.read_message(held_id)


def test_key_file_formats(tmp_path: Path) -> None:
    text = tmp_path / "key.b64"
    text.write_text(base64.b64encode(KEY).decode() + "\n")
    urlsafe = tmp_path / "key.url"
    urlsafe.write_text(base64.urlsafe_b64encode(KEY).decode())
    raw = tmp_path / "key.raw"
    raw.write_bytes(KEY)
    assert load_key(text) == load_key(urlsafe) == load_key(raw) == KEY
    short = tmp_path / "short"
    short.write_text(base64.b64encode(os.urandom(16)).decode())
    with pytest.raises(SealError, match="32 random bytes in base64"):
        load_key(short)
    with pytest.raises(SealError, match="cannot read"):
        load_key(tmp_path / "missing")
    with pytest.raises(SealError, match="32 bytes"):
        QuarantineStore(tmp_path, b"short")


def test_store_from_settings_uses_the_key_file(tmp_path: Path) -> None:
    key_file = tmp_path / "key"
    key_file.write_text(base64.b64encode(KEY).decode())
    settings = QuarantineSettings(path=tmp_path / "q", encryption_key_file=key_file)
    held_id = QuarantineStore.from_settings(settings).hold(MESSAGE, request())
    assert QuarantineStore(tmp_path / "q", KEY).read_message(held_id) == MESSAGE


def test_mark_released_records_who_and_when(tmp_path: Path) -> None:
    store = QuarantineStore(tmp_path)
    held_id = store.hold(MESSAGE, request())
    at = datetime(2026, 11, 25, 9, 30, tzinfo=UTC)
    with store.locked(held_id) as handle:
        handle.mark_released("alice", at, "250 2.0.0 Ok", recipients=ENVELOPE.rcpt_tos,
                             reason="asked by phone")
    metadata = store.get(held_id)
    assert metadata.status is HoldStatus.RELEASED
    assert metadata.release is not None
    assert (metadata.release.by, metadata.release.at) == ("alice", "2026-11-25T09:30:00+00:00")
    assert metadata.release.upstream_reply == "250 2.0.0 Ok"
    assert metadata.release.reason == "asked by phone"
    with pytest.raises(HeldStateError, match="released, not held"), store.locked(held_id) as again:
        again.mark_released("bob", at, "250")


def test_a_recipient_refused_for_good_is_done_one_refused_for_now_is_not(
        tmp_path: Path) -> None:
    store = QuarantineStore(tmp_path)
    first, second = ENVELOPE.rcpt_tos
    statuses = []
    for refusal in ("550 5.1.1 No such user", "450 4.2.1 Mailbox busy"):
        held_id = store.hold(MESSAGE, request())
        with store.locked(held_id) as handle:
            handle.mark_released("alice", datetime.now(UTC), "250 2.0.0 Ok", recipients=(first,),
                                 refused=(f"{second.upper()}: {refusal}",))
        statuses.append(store.get(held_id).status)
    assert statuses == [HoldStatus.RELEASED, HoldStatus.HELD]


def test_delete_removes_the_message_and_keeps_the_record(tmp_path: Path) -> None:
    store = QuarantineStore(tmp_path, KEY)
    held_id = store.hold(MESSAGE, request())
    with store.locked(held_id) as handle:
        handle.delete("carol", datetime.now(UTC))
    assert not (tmp_path / f"{held_id}.eml.aes").exists()
    metadata = store.get(held_id)
    assert metadata.status is HoldStatus.DELETED
    assert metadata.deletion is not None and metadata.deletion.by == "carol"
    assert [m.id for m in store.find()] == [held_id]
    with pytest.raises(HeldStateError, match="deleted"):
        store.read_message(held_id)
    with pytest.raises(HeldStateError, match="already deleted"), store.locked(held_id) as again:
        again.delete("carol", datetime.now(UTC))


def test_a_locked_record_is_busy_for_others(tmp_path: Path) -> None:
    store = QuarantineStore(tmp_path)
    held_id = store.hold(MESSAGE, request())
    with store.locked(held_id) as handle:
        assert handle.metadata.id == held_id
        with pytest.raises(HeldBusy), store.locked(held_id):
            pass
    with store.locked(held_id):
        pass


def test_a_broken_metadata_file_is_reported(tmp_path: Path) -> None:
    store = QuarantineStore(tmp_path)
    held_id = store.hold(MESSAGE, request())
    (tmp_path / f"{held_id}.json").write_text('{"id": 1}')
    with pytest.raises(QuarantineError, match="is not quarantine metadata"):
        store.get(held_id)


def test_hold_request_without_analysis_keeps_envelope_and_rules() -> None:
    held = hold_request(ENVELOPE, quarantine_verdict(), None)
    assert held.envelope.rcpt_tos == ENVELOPE.rcpt_tos
    assert held.decision.rules[0].name == "classified-never-by-mail"
    assert held.decision.classification is None
    assert held.decision.markings == ()


def test_settings_work_without_config_and_in_the_example() -> None:
    defaults = load_settings(None)
    assert defaults.quarantine == QuarantineSettings(path=Path("var/quarantine"))
    assert defaults.notices.from_address == "postmaster@thuathienhue.gov.vn"
    assert "security_officer" not in defaults.notices.model_dump()  # the policy's setting
    example = load_settings(Path(__file__).resolve().parents[3] / "config/gateway.example.yaml")
    assert example.quarantine == defaults.quarantine
    assert example.notices == defaults.notices
