"""The shared quarantine store in PostgreSQL, for a fleet of gateways (psycopg 3 + its pool).

One row per hold in `held` (searchable columns, the JSON record, and the
body: the message, sealed with the quarantine key when one is configured),
one row per notice in `notices`. A hold is one transaction: message, record
and notices commit together or not at all. Concurrency across gateways is
the database's: `SELECT … FOR UPDATE NOWAIT` gives one releaser a held
message (the others get HeldBusy), `FOR UPDATE SKIP LOCKED` hands each due
notice to one sender. Any database failure is StoreUnavailable: a hold then
answers 4xx, never 250 without the committed copy.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import psycopg
from psycopg import Connection, errors
from psycopg.types.json import Jsonb
from psycopg_pool import ConnectionPool, PoolTimeout

from gateway.mail.spool import Spool
from gateway.quarantine.errors import HeldBusy, HeldNotFound, HeldStateError, StoreUnavailable
from gateway.quarantine.heldmeta import (
    HeldMetadata,
    HoldRequest,
    HoldStatus,
    ReleaseInfo,
    metadata_dict,
    metadata_from_dict,
)
from gateway.quarantine.interface import (
    NoticeCounts,
    NoticeFactory,
    NoticeState,
    QueuedNotice,
    RecordingBatch,
    Search,
)
from gateway.quarantine.migrations import migrate
from gateway.quarantine.records import (
    check_id,
    check_key,
    deleted,
    last_change,
    new_hold,
    open_body,
    released,
    timestamp,
)

log = logging.getLogger("gateway.quarantine.postgres")

_COLUMNS = "status = %s, changed = %s, metadata = %s"


def _row_values(metadata: HeldMetadata) -> tuple[str, datetime, Jsonb]:
    return metadata.status.value, last_change(metadata), Jsonb(metadata_dict(metadata))


class PostgresStore:
    """The quarantine in a PostgreSQL database shared by every gateway of the fleet."""

    def __init__(self, conninfo: str, key: bytes | None = None, *, pool_size: int = 5,
                 timeout: float = 5.0) -> None:
        self._key = check_key(key)
        self._timeout = timeout
        self._pool: ConnectionPool[Connection[Any]] = ConnectionPool(
            conninfo, min_size=1, max_size=pool_size, open=False, timeout=timeout,
            check=ConnectionPool.check_connection, reconnect_timeout=timeout * 4,
            kwargs={"connect_timeout": max(1, round(timeout))}, name="tth-quarantine",
        )
        self._pool.open(wait=False)
        self._migrated = False
        self._migrating = threading.Lock()

    def close(self) -> None:
        self._pool.close()

    @contextlib.contextmanager
    def _connection(self, *, schema: bool = True) -> Iterator[Connection[Any]]:
        """A pooled connection (with `schema`, the schema brought up to date first, once);
        database trouble → StoreUnavailable."""
        try:
            with self._pool.connection() as connection:
                if schema and not self._migrated:
                    self._migrate(connection)
                yield connection
        except (psycopg.OperationalError, PoolTimeout) as exc:
            raise StoreUnavailable(f"quarantine database unavailable: {exc}") from exc

    def _migrate(self, connection: Connection[Any]) -> list[int]:
        with self._migrating:
            applied = migrate(connection)
            self._migrated = True
        if applied:
            log.info("quarantine database: applied schema migrations %s", applied)
        return applied

    def migrate(self) -> list[int]:
        """Apply the missing schema migrations now; returns their numbers."""
        with self._connection(schema=False) as connection:
            return self._migrate(connection)

    # writing

    def hold(self, message: bytes | Spool, request: HoldRequest, *, header: bytes = b"",
             now: datetime | None = None, notices: NoticeFactory | None = None) -> str:
        """Record, body and notices in one transaction; returns the new id once committed."""
        moment = now or datetime.now(UTC)
        metadata, stored = new_hold(message, request, header, moment, self._key)
        outgoing = notices(metadata.id) if notices is not None else ()
        envelope = metadata.envelope
        with self._connection() as connection, connection.transaction():
            connection.execute(
                "INSERT INTO held (id, received, status, changed, sender, recipients, rules,"
                " classification, metadata, body) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
                (metadata.id, moment, metadata.status.value, moment, envelope.mail_from.lower(),
                 [r.lower() for r in envelope.rcpt_tos],
                 [rule.name for rule in metadata.decision.rules],
                 metadata.decision.classification, Jsonb(metadata_dict(metadata)), stored),
            )
            with connection.cursor() as cursor:
                cursor.executemany(
                    "INSERT INTO notices (held_id, recipients, data, created, next_attempt)"
                    " VALUES (%s, %s, %s, %s, %s)",
                    [(metadata.id, list(n.recipients), n.data, moment, moment)
                     for n in outgoing],
                )
        return metadata.id

    def recover(self, now: datetime | None = None) -> int:
        """Nothing to finish: a hold is one transaction, so a crash leaves all or nothing."""
        return 0

    # reading

    def get(self, held_id: str) -> HeldMetadata:
        with self._connection() as connection:
            row = connection.execute(
                "SELECT metadata FROM held WHERE id = %s", (check_id(held_id),)
            ).fetchone()
        if row is None:
            raise HeldNotFound(f"no held message {held_id}")
        return metadata_from_dict(row[0])

    def find(self, search: Search | None = None) -> list[HeldMetadata]:
        """The matching records, oldest first; the filters run in the database."""
        query = Search() if search is None else search
        clauses: list[str] = []
        values: list[object] = []
        for clause, value in (
            ("status = %s", query.status.value if query.status else None),
            ("sender = %s", query.sender.lower() if query.sender is not None else None),
            ("%s = ANY (recipients)", query.recipient.lower() if query.recipient else None),
            ("%s = ANY (rules)", query.rule),
            ("classification = %s", query.classification),
            ("received >= %s", query.since),
            ("received < %s", query.until),
        ):
            if value is not None:
                clauses.append(clause)
                values.append(value)
        where = " AND ".join(clauses) or "true"
        with self._connection() as connection:
            rows = connection.execute(
                f"SELECT metadata FROM held WHERE {where} ORDER BY id".encode(), values
            ).fetchall()
        return [metadata_from_dict(row[0]) for row in rows]

    def read_message(self, held_id: str) -> bytes:
        with self._connection() as connection:
            return self._read(connection, self.get(held_id))

    def _read(self, connection: Connection[Any], metadata: HeldMetadata) -> bytes:
        if metadata.status is HoldStatus.DELETED:
            raise HeldStateError(f"held message {metadata.id} was deleted")
        row = connection.execute("SELECT body FROM held WHERE id = %s", (metadata.id,)).fetchone()
        if row is None or row[0] is None:
            raise HeldStateError(f"held message {metadata.id} has no body any more")
        return open_body(metadata, bytes(row[0]), self._key)

    # state changes

    @contextlib.contextmanager
    def locked(self, held_id: str) -> Iterator[PostgresHandle]:
        """The row locked (FOR UPDATE NOWAIT) for this transaction: one owner fleet-wide."""
        check_id(held_id)
        with self._connection() as connection, connection.transaction():
            try:
                row = connection.execute(
                    "SELECT metadata FROM held WHERE id = %s FOR UPDATE NOWAIT", (held_id,)
                ).fetchone()
            except errors.LockNotAvailable:
                raise HeldBusy(f"held message {held_id} is busy (another command or gateway)")\
                    from None
            if row is None:
                raise HeldNotFound(f"no held message {held_id}")
            yield PostgresHandle(self, connection, metadata_from_dict(row[0]))

    # the notice queue

    def claim_notices(self, now: datetime, limit: int) -> PostgresNoticeBatch:
        """Due notices locked FOR UPDATE SKIP LOCKED in a transaction kept open until the
        batch closes: another gateway skips them; a crash ends the transaction."""
        try:
            connection = self._pool.getconn()
        except PoolTimeout as exc:
            raise StoreUnavailable(f"quarantine database unavailable: {exc}") from exc
        try:
            rows = connection.execute(
                "SELECT id, held_id, recipients, data, attempts, created FROM notices"
                " WHERE state = 'pending' AND next_attempt <= %s ORDER BY id LIMIT %s"
                " FOR UPDATE SKIP LOCKED", (now, limit),
            ).fetchall()
        except psycopg.Error as exc:
            self._pool.putconn(connection)
            raise StoreUnavailable(f"quarantine database unavailable: {exc}") from exc
        notices = [QueuedNotice(str(key), held_id, tuple(recipients), bytes(data), attempts,
                                created)
                   for key, held_id, recipients, data, attempts, created in rows]
        return PostgresNoticeBatch(self._pool, connection, notices)

    def notice_counts(self) -> NoticeCounts:
        with self._connection() as connection:
            rows = dict(connection.execute(
                "SELECT state, count(*) FROM notices WHERE state <> 'sent' GROUP BY state"
            ).fetchall())
        return NoticeCounts(int(rows.get("pending", 0)), int(rows.get("expired", 0)))


class PostgresNoticeBatch(RecordingBatch):
    """Claimed notice rows; the outcomes commit together when `close` ends the claim."""

    def __init__(self, pool: ConnectionPool[Connection[Any]], connection: Connection[Any],
                 notices: list[QueuedNotice]) -> None:
        self._pool = pool
        self._connection: Connection[Any] | None = connection
        self.notices = notices

    def _record(self, notice: QueuedNotice, state: NoticeState, retry_at: datetime,
                error: str) -> None:
        assert self._connection is not None
        self._connection.execute(
            "UPDATE notices SET state = %s, attempts = %s, next_attempt = %s, last_error = %s"
            " WHERE id = %s", (state.value, notice.attempts + 1, retry_at, error, int(notice.key)),
        )

    def close(self) -> None:
        """Commit the recorded outcomes (the rest stay due) and give the connection back."""
        connection, self._connection = self._connection, None
        if connection is None:
            return
        try:
            connection.commit()
        except psycopg.Error:
            log.warning("notice outcomes not committed (database down); they will be retried")
        finally:
            self._pool.putconn(connection)


class PostgresHandle:
    """A held row locked inside an open transaction; changes commit when the block ends."""

    def __init__(self, store: PostgresStore, connection: Connection[Any],
                 metadata: HeldMetadata) -> None:
        self._store = store
        self._connection = connection
        self.metadata = metadata

    def read_message(self) -> bytes:
        return self._store._read(self._connection, self.metadata)

    def _save(self, metadata: HeldMetadata, *, destroy_body: bool = False) -> HeldMetadata:
        body = ", body = NULL" if destroy_body else ""
        self._connection.execute(
            f"UPDATE held SET {_COLUMNS}{body} WHERE id = %s".encode(),
            (*_row_values(metadata), metadata.id),
        )
        self.metadata = metadata
        return metadata

    def mark_released(self, by: str, at: datetime, upstream_reply: str, *,
                      recipients: tuple[str, ...] = (), refused: tuple[str, ...] = (),
                      reason: str = "") -> HeldMetadata:
        info = ReleaseInfo(by, timestamp(at), upstream_reply, recipients, refused, reason)
        return self._save(released(self.metadata, info))

    def delete(self, by: str, at: datetime, *, reason: str = "") -> HeldMetadata:
        """The body is destroyed (set to NULL) in the same transaction as the record."""
        return self._save(deleted(self.metadata, by, at, reason), destroy_body=True)

    def forget(self) -> None:
        """Remove the row and its notices for good (retention of deleted records over)."""
        self._connection.execute("DELETE FROM held WHERE id = %s", (self.metadata.id,))
