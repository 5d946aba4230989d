"""The store the configuration asks for: PostgreSQL when `quarantine.database` is set."""

from __future__ import annotations

from gateway.config import QuarantineSettings
from gateway.quarantine.heldmeta import HoldStatus
from gateway.quarantine.interface import Store
from gateway.quarantine.local import QuarantineStore
from gateway.quarantine.sealing import load_key

DAY = 86400.0


def open_store(settings: QuarantineSettings) -> Store:
    """The configured store, with the encryption key if one is configured."""
    key = load_key(settings.encryption_key_file) if settings.encryption_key_file else None
    if settings.database:
        from gateway.quarantine.postgres import PostgresStore

        return PostgresStore(settings.database, key, pool_size=settings.pool_size,
                             timeout=settings.database_timeout)
    return QuarantineStore(settings.path, key)


def retention_seconds(settings: QuarantineSettings) -> dict[HoldStatus, float]:
    retention = settings.retention
    return {
        HoldStatus.HELD: retention.held * DAY,
        HoldStatus.RELEASED: retention.released * DAY,
        HoldStatus.DELETED: retention.deleted * DAY,
    }
