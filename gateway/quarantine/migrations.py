"""The PostgreSQL schema, as numbered migrations applied in order, each exactly once.

`tth-gateway quarantine migrate` applies them, and so does every gateway at
start; a transaction-scoped advisory lock makes concurrent starts of a fleet
take turns, and `quarantine_schema` records what was applied.
"""

from __future__ import annotations

from typing import Any

from psycopg import Connection

ADVISORY_LOCK = 0x7474_6871  # "tthq": one schema lock per database

MIGRATIONS: tuple[tuple[int, str], ...] = (
    (1, """
        CREATE TABLE held (
            id             text PRIMARY KEY,
            received       timestamptz NOT NULL,
            status         text NOT NULL CHECK (status IN ('held', 'released', 'deleted')),
            changed        timestamptz NOT NULL,
            sender         text NOT NULL,
            recipients     text[] NOT NULL,
            rules          text[] NOT NULL,
            classification text,
            metadata       jsonb NOT NULL,
            body           bytea
        );
        ALTER TABLE held ALTER COLUMN body SET STORAGE EXTERNAL;
        CREATE INDEX held_received ON held (received);
        CREATE INDEX held_status_changed ON held (status, changed);
        CREATE TABLE notices (
            id          bigserial PRIMARY KEY,
            held_id     text NOT NULL REFERENCES held (id) ON DELETE CASCADE,
            recipients  text[] NOT NULL,
            data        bytea NOT NULL,
            state       text NOT NULL DEFAULT 'pending'
                        CHECK (state IN ('pending', 'sent', 'expired')),
            attempts    integer NOT NULL DEFAULT 0,
            created     timestamptz NOT NULL,
            next_attempt timestamptz NOT NULL,
            last_error  text NOT NULL DEFAULT ''
        );
        CREATE INDEX notices_due ON notices (next_attempt) WHERE state = 'pending';
        CREATE INDEX notices_held ON notices (held_id);
    """),
)

LATEST = MIGRATIONS[-1][0]


def migrate(connection: Connection[Any]) -> list[int]:
    """Apply the migrations this database lacks; returns their numbers."""
    applied: list[int] = []
    with connection.transaction():
        connection.execute("SELECT pg_advisory_xact_lock(%s)", (ADVISORY_LOCK,))
        connection.execute(
            "CREATE TABLE IF NOT EXISTS quarantine_schema ("
            " version integer PRIMARY KEY, applied timestamptz NOT NULL DEFAULT now())"
        )
        row = connection.execute("SELECT coalesce(max(version), 0) FROM quarantine_schema")
        current = row.fetchone()
        done = int(current[0]) if current else 0
        for version, sql in MIGRATIONS:
            if version <= done:
                continue
            connection.execute(sql.encode())
            connection.execute("INSERT INTO quarantine_schema (version) VALUES (%s)", (version,))
            applied.append(version)
    return applied
