"""The shared quarantine in a real PostgreSQL (a private cluster started by the tests):
the store's contract, two live gateways sharing it, releases done exactly once across
hosts, and a database that dies during holds without a 250 for an unstored message."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import threading
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from email import message_from_bytes
from pathlib import Path

import psycopg
import pytest

from gateway.config import Settings
from gateway.quarantine.heldmeta import HoldStatus, hold_request
from gateway.quarantine.interface import OutgoingNotice, Search
from gateway.quarantine.lifecycle import purge
from gateway.quarantine.postgres import PostgresStore
from tests.support import postgres
from tests.support.live import (
    Live,
    command,
    live_gateway,
    live_settings,
    metric,
    send,
    wait_for,
    write_config,
)
from tests.support.postgres import Cluster, private_cluster
from tests.support.samples import (
    ENVELOPE,
    MESSAGE,
    classified_analysis,
    quarantine_cli,
    quarantine_verdict,
)
from tests.support.sink import Sink, free_port

pytestmark = pytest.mark.skipif(
    not postgres.available() and not os.environ.get("TTH_REQUIRE_POSTGRES"),
    reason="needs PostgreSQL 15 (installed by .ci/run, where its absence is a failure)",
)

KEY = bytes(range(32))
SENDER = "nguoidan@example.org"
RECIPIENT = "vanthu@thuathienhue.gov.vn"
CLASSIFIED = (
    f"From: {SENDER}\r\nTo: {RECIPIENT}\r\nSubject: [TỐI MẬT] Kế hoạch\r\n"
    "Content-Type: text/plain; charset=utf-8\r\n\r\nPhương án số 7731\r\n"
).encode()


@pytest.fixture(scope="module")
def cluster() -> Iterator[Cluster]:
    with private_cluster() as server:
        yield server


@pytest.fixture
def database(cluster: Cluster) -> Iterator[str]:
    """A fresh database of the shared cluster for one test; dropped afterwards."""
    if cluster.process is None:
        cluster.start()
    name = f"q{free_port()}"
    admin = cluster.url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(f"CREATE DATABASE {name}")
    try:
        yield cluster.url.rsplit("/", 1)[0] + f"/{name}"
    finally:
        if cluster.process is None:
            cluster.start()
        with psycopg.connect(admin, autocommit=True) as connection:
            connection.execute(f"DROP DATABASE {name} WITH (FORCE)")


@pytest.fixture
def store(database: str) -> Iterator[PostgresStore]:
    opened = PostgresStore(database, KEY, timeout=3.0)
    try:
        yield opened
    finally:
        opened.close()


def notices(held_id: str) -> list[OutgoingNotice]:
    return [OutgoingNotice(("a@x.vn",), b"Subject: " + held_id.encode() + b"\r\n\r\nhi\r\n")]


def stored_ids(database: str) -> set[str]:
    """What a fresh store (another host) finds in the database."""
    other = PostgresStore(database, KEY, timeout=3.0)
    try:
        return {m.id for m in other.find()}
    finally:
        other.close()


def held_via(live: Live) -> tuple[int, str]:
    """Send the classified message from outside; the final reply."""
    return send(live, SENDER, [RECIPIENT], CLASSIFIED, client_ip=None, utf8=True).final


def reference(final: tuple[int, str]) -> str:
    """The quarantine id the 250 reply of a held message names."""
    return next(word.strip("().,;") for word in final[1].split() if "Z-" in word)


def test_migrations_are_versioned_and_applied_once(sink: Sink, tmp_path: Path,
                                                   database: str) -> None:
    config = write_config(fleet_settings(sink, tmp_path, database), tmp_path / "gw.json")
    first = quarantine(config, "migrate")
    assert (first.returncode, first.stdout) == (0, b"applied migrations [1]\n"), first.stderr
    again = quarantine(config, "migrate")
    assert (again.returncode, again.stdout) == (0, b"schema up to date\n"), again.stderr
    with psycopg.connect(database) as connection:
        versions = connection.execute("SELECT version FROM quarantine_schema").fetchall()
    assert versions == [(1,)]


def test_hold_read_search_and_notices_in_the_database(store: PostgresStore) -> None:
    request = hold_request(ENVELOPE, quarantine_verdict(), classified_analysis(), "S1.T1")
    old = store.hold(MESSAGE, request, now=datetime(2026, 1, 2, tzinfo=UTC))
    new = store.hold(MESSAGE, request, notices=notices)
    assert store.read_message(new) == MESSAGE
    assert [m.id for m in store.find()] == [old, new]
    assert [m.id for m in store.find(Search(since=datetime(2026, 6, 1, tzinfo=UTC)))] == [new]
    rule = quarantine_verdict().rules[0].name
    assert len(store.find(Search(rule=rule, recipient=ENVELOPE.rcpt_tos[0].upper()))) == 2
    assert store.find(Search(sender="nobody@else.vn")) == []
    assert store.notice_counts().pending == 1
    now = datetime.now(UTC)
    batch = store.claim_notices(now, 10)
    try:
        assert [n.held_id for n in batch.notices] == [new]
        other = store.claim_notices(now, 10)
        assert other.notices == []  # locked: another gateway skips it
        other.close()
        batch.sent(batch.notices[0], now)
    finally:
        batch.close()
    assert store.notice_counts().pending == 0
    again = store.claim_notices(now, 10)
    assert again.notices == []
    again.close()


def test_a_hold_is_one_transaction(store: PostgresStore) -> None:
    request = hold_request(ENVELOPE, quarantine_verdict(), classified_analysis())

    def broken(held_id: str) -> list[OutgoingNotice]:
        return [OutgoingNotice(("a@x.vn",), b"x"), OutgoingNotice(("\0",), b"x")]

    with pytest.raises(psycopg.DataError):
        store.hold(MESSAGE, request, notices=broken)  # NUL is refused by PostgreSQL
    assert store.find() == []
    assert store.notice_counts().pending == 0


def test_retention_destroys_bodies_and_forgets_old_records(store: PostgresStore,
                                                          tmp_path: Path) -> None:
    request = hold_request(ENVELOPE, quarantine_verdict(), classified_analysis())
    long_ago = datetime.now(UTC) - timedelta(days=400)
    stale = store.hold(MESSAGE, request, now=long_ago)
    fresh = store.hold(MESSAGE, request)
    settings = Settings.model_validate({"audit": {"path": str(tmp_path / "audit.jsonl")}},
                                       strict=False)
    assert purge(store, settings) == [stale]
    assert store.get(stale).status is HoldStatus.DELETED
    assert store.get(stale).deletion is not None
    with psycopg.connect(store._pool.conninfo) as connection:
        bodies = dict(connection.execute("SELECT id, body IS NULL FROM held").fetchall())
    assert bodies == {stale: True, fresh: False}
    assert purge(store, settings, now=datetime.now(UTC) + timedelta(days=366)) == [stale, fresh]
    assert [m.id for m in store.find()] == [fresh]
    assert '"event":"quarantine.purge"' in (tmp_path / "audit.jsonl").read_text()


def fleet_settings(sink: Sink, tmp: Path, database: str) -> Settings:
    base = live_settings(sink.address, tmp)
    data = base.model_dump(mode="json")
    key = tmp / "quarantine.key"
    key.write_text(base64.b64encode(KEY).decode())
    data["quarantine"] = {"database": database, "path": str(tmp / "unused"),
                          "database_timeout": 2.0, "encryption_key_file": str(key)}
    data["notices"] = {"retry_initial": 0.2, "retry_max": 1.0, "poll_interval": 0.2}
    return Settings.model_validate(data, strict=False)


def quarantine(config: Path, *argv: str) -> subprocess.CompletedProcess[bytes]:
    return command("quarantine", *argv, "--config", str(config), cwd=config.parent)


def test_two_gateways_share_one_quarantine(sink: Sink, tmp_path: Path, database: str) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    first = fleet_settings(sink, tmp_path / "a", database)
    second = fleet_settings(sink, tmp_path / "b", database)
    with live_gateway(sink, first) as a, live_gateway(sink, second) as b:
        finals = [held_via(gateway) for gateway in (a, b, a)]
        assert [code for code, _ in finals] == [250, 250, 250], finals
        wait_for(sink, 6, seconds=30)
        time.sleep(1.0)  # both outboxes poll again: nothing is sent twice
        assert len(sink.messages) == 6  # sender + officer, once each, for 3 holds
    assert all(m.mail_from == "<>" for m in sink.messages)
    held_by_a = reference(finals[0])
    config_b = write_config(second, tmp_path / "b.json")
    listed = quarantine(config_b, "list", "--json", "--sender", SENDER)
    assert listed.returncode == 0, listed.stderr
    assert sorted(r["id"] for r in json.loads(listed.stdout)) == sorted(map(reference, finals))
    shown = quarantine(config_b, "show", held_by_a)
    assert shown.returncode == 0, shown.stderr
    assert b"toi_mat" in shown.stdout
    released = quarantine(config_b, "release", held_by_a, "--reason", "test")
    assert released.returncode == 0, released.stderr
    assert wait_for(sink, 7)[-1].rcpt_tos == [RECIPIENT]
    audit = (tmp_path / "b" / "audit.jsonl").read_text()
    assert '"event":"quarantine.release"' in audit and '"reason":"test"' in audit


def test_concurrent_releases_from_two_hosts_exactly_one_succeeds(
    sink: Sink, tmp_path: Path, database: str, store: PostgresStore
) -> None:
    settings = fleet_settings(sink, tmp_path, database)
    configs = [write_config(settings, tmp_path / f"host{n}.json") for n in (1, 2)]
    request = hold_request(ENVELOPE, quarantine_verdict(), classified_analysis())
    ids = [store.hold(MESSAGE, request) for _ in range(3)]
    sink.behaviour.data_delay = 1.0  # the winner holds the row while the upstream answers
    for held_id in ids:
        with ThreadPoolExecutor(2) as pool:
            runs = [pool.submit(quarantine, config, "release", held_id) for config in configs]
            results = [run.result() for run in runs]
        codes = sorted(r.returncode for r in results)
        assert codes[0] == 0 and codes[1] in (2, 75), [r.stderr for r in results]
    assert len(sink.messages) == 3
    assert all(store.get(held_id).status is HoldStatus.RELEASED for held_id in ids)


def test_a_recipient_who_had_the_message_is_not_sent_it_again(
        sink: Sink, tmp_path: Path, database: str, store: PostgresStore,
        capsys: pytest.CaptureFixture[str]) -> None:
    config = str(write_config(fleet_settings(sink, tmp_path, database), tmp_path / "gw.json"))
    held_id = store.hold(MESSAGE, hold_request(ENVELOPE, quarantine_verdict(), None))
    second = ENVELOPE.rcpt_tos[1]
    assert quarantine_cli("release", held_id, "--config", config, "--rcpt", second) == 0
    assert quarantine_cli("release", held_id, "--config", config, "--rcpt", second) == 2
    assert f"already released to (or refused for good by) {second}" in capsys.readouterr().err
    assert [m.rcpt_tos for m in sink.messages] == [[second]]
    assert len(store.get(held_id).releases) == 1


def test_a_database_dying_during_a_release_says_it_was_delivered_and_audits_it(
        sink: Sink, tmp_path: Path, database: str, store: PostgresStore,
        capsys: pytest.CaptureFixture[str]) -> None:
    config = str(write_config(fleet_settings(sink, tmp_path, database), tmp_path / "gw.json"))
    held_id = store.hold(MESSAGE, hold_request(ENVELOPE, quarantine_verdict(),
                                               classified_analysis()))

    def cut_off() -> None:
        """The releasing session ends (as in a crash), once the upstream has the message;
        a killed postmaster would leave it running a moment, racing the record."""
        with psycopg.connect(database, autocommit=True) as connection:
            connection.execute(
                "SELECT pg_terminate_backend(pid, 10000) FROM pg_stat_activity"
                " WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )

    sink.behaviour.on_data = cut_off
    code = quarantine_cli("release", held_id, "--config", config, "--reason", "test")
    error = capsys.readouterr().err
    assert code == 74, error
    recipients = ", ".join(ENVELOPE.rcpt_tos)
    assert f"held message {held_id} WAS delivered to {recipients}" in error
    assert "its record could not be updated" in error and "do not release it again" in error
    assert len(sink.messages) == 1
    lines = (tmp_path / "audit.jsonl").read_text().splitlines()
    event = json.loads(lines[-1])
    assert (event["event"], event["reference"], event["recorded"]) == (
        "quarantine.release", held_id, False)
    assert event["recipients"] == list(ENVELOPE.rcpt_tos) and event["reason"] == "test"
    assert "quarantine database unavailable" in event["error"]
    assert stored_status(database, held_id) is HoldStatus.HELD


def stored_status(database: str, held_id: str) -> HoldStatus:
    """What a fresh store (another host) reads of the record."""
    other = PostgresStore(database, KEY, timeout=3.0)
    try:
        return other.get(held_id).status
    finally:
        other.close()


def test_database_down_means_451_never_250(sink: Sink, tmp_path: Path, cluster: Cluster,
                                           database: str) -> None:
    settings = fleet_settings(sink, tmp_path, database)
    errors = metric("tth_quarantine_store_errors_total", {"operation": "hold"})
    with live_gateway(sink, settings) as live:
        assert held_via(live)[0] == 250
        cluster.kill()
        try:
            down = held_via(live)
            assert down[0] == 451, down
            assert metric("tth_quarantine_store_errors_total",
                          {"operation": "hold"}) == errors + 1
        finally:
            cluster.start()
        retries = [held_via(live)]
        deadline = time.monotonic() + 60
        while retries[-1][0] != 250 and time.monotonic() < deadline:
            time.sleep(0.5)  # as a sending MTA retries: the pool reconnects with backoff
            retries.append(held_via(live))
        assert [code for code, _ in retries] == [451] * (len(retries) - 1) + [250], retries
    assert len(stored_ids(database)) == 2


def test_database_killed_during_holds_loses_nothing(sink: Sink, tmp_path: Path,
                                                   cluster: Cluster, database: str) -> None:
    settings = fleet_settings(sink, tmp_path, database)
    replies: list[tuple[int, str]] = []
    stop = threading.Event()

    def client(live: Live) -> None:
        for _ in range(300):
            if stop.is_set():
                return
            replies.append(held_via(live))

    with live_gateway(sink, settings) as live:
        worker = threading.Thread(target=client, args=(live,))
        worker.start()
        try:
            for _ in range(2):
                time.sleep(1.0)
                cluster.kill()
                time.sleep(1.0)
                cluster.start()
            time.sleep(2.0)
        finally:
            stop.set()
            worker.join(300)
        accepted = [reference(final) for final in replies if final[0] == 250]
        deadline = time.monotonic() + 60
        while len(notice_references(sink)) < len(accepted) and time.monotonic() < deadline:
            time.sleep(0.1)
    assert all(code in (250, 451) for code, _ in replies), replies
    assert accepted and len(accepted) < len(replies)  # the outage was seen, and survived
    assert set(accepted) <= stored_ids(database)
    told = notice_references(sink)
    assert all(told[held] >= 2 for held in accepted)  # sender and officer, despite it all


def notice_references(sink: Sink) -> Counter[str]:
    """How many notices each held message got (by their X-TTH-Notice), complete ones only."""
    counts = Counter(str(message_from_bytes(m.content)["X-TTH-Notice"]) for m in sink.messages)
    return Counter({held: n for held, n in counts.items() if n >= 2})
