"""The store interface both backends (local folder, PostgreSQL) implement, and its values."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Protocol

from gateway.mail.spool import Spool
from gateway.quarantine.heldmeta import HeldMetadata, HoldRequest, HoldStatus


class NoticeState(StrEnum):
    PENDING = "pending"
    SENT = "sent"
    EXPIRED = "expired"


@dataclass(frozen=True, slots=True)
class OutgoingNotice:
    """A rendered notice to queue with a hold: who gets it and the whole message."""

    recipients: tuple[str, ...]
    data: bytes


@dataclass(frozen=True, slots=True)
class QueuedNotice:
    """A notice in the durable queue; `key` names it inside its backend."""

    key: str
    held_id: str
    recipients: tuple[str, ...]
    data: bytes
    attempts: int
    created: datetime


@dataclass(frozen=True, slots=True)
class NoticeCounts:
    pending: int = 0
    expired: int = 0


@dataclass(frozen=True, slots=True)
class Search:
    """What `quarantine list` filters on; every given field must match."""

    status: HoldStatus | None = None
    sender: str | None = None
    recipient: str | None = None
    rule: str | None = None
    classification: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    ids: tuple[str, ...] = field(default=())

    def matches(self, metadata: HeldMetadata) -> bool:
        envelope, decision = metadata.envelope, metadata.decision
        received = datetime.fromisoformat(metadata.received)
        return all((
            self.status in (None, metadata.status),
            self.sender is None or envelope.mail_from.lower() == self.sender.lower(),
            self.recipient is None
            or self.recipient.lower() in (r.lower() for r in envelope.rcpt_tos),
            self.rule is None or self.rule in (r.name for r in decision.rules),
            self.classification in (None, decision.classification),
            self.since is None or received >= self.since,
            self.until is None or received < self.until,
        ))


NoticeFactory = Callable[[str], Sequence[OutgoingNotice]]


class HeldHandle(Protocol):
    """One held message, exclusively ours (locked) until the `with` block ends."""

    metadata: HeldMetadata

    def read_message(self) -> bytes: ...

    def mark_released(self, by: str, at: datetime, upstream_reply: str, *,
                      recipients: tuple[str, ...] = (),
                      refused: tuple[str, ...] = (), reason: str = "") -> HeldMetadata: ...

    def delete(self, by: str, at: datetime, *, reason: str = "") -> HeldMetadata: ...

    def forget(self) -> None:
        """Remove the record and everything of it for good."""
        ...


class NoticeBatch(Protocol):
    """Claimed notices; record each outcome, then `close` (always) to release the rest."""

    notices: list[QueuedNotice]

    def sent(self, notice: QueuedNotice, now: datetime) -> None: ...

    def failed(self, notice: QueuedNotice, now: datetime, retry_at: datetime | None,
               error: str) -> None:
        """Try again at `retry_at`, or give up (expired) when it is None."""
        ...

    def close(self) -> None: ...


class RecordingBatch:
    """The outcomes of a batch as one write of the notice's new state (`_record`), which
    each backend implements: sent, retried at a time, or given up (expired)."""

    def _record(self, notice: QueuedNotice, state: NoticeState, retry_at: datetime,
                error: str) -> None:
        raise NotImplementedError

    def sent(self, notice: QueuedNotice, now: datetime) -> None:
        self._record(notice, NoticeState.SENT, now, "")

    def failed(self, notice: QueuedNotice, now: datetime, retry_at: datetime | None,
               error: str) -> None:
        state = NoticeState.PENDING if retry_at is not None else NoticeState.EXPIRED
        self._record(notice, state, retry_at or now, error)


class Store(Protocol):
    """A quarantine store. `hold` is atomic: a crash leaves a complete hold or nothing."""

    def hold(self, message: bytes | Spool, request: HoldRequest, *, header: bytes = b"",
             now: datetime | None = None, notices: NoticeFactory | None = None) -> str: ...

    def get(self, held_id: str) -> HeldMetadata: ...

    def find(self, search: Search | None = None) -> list[HeldMetadata]: ...

    def read_message(self, held_id: str) -> bytes: ...

    def locked(self, held_id: str) -> AbstractContextManager[HeldHandle]: ...

    def recover(self, now: datetime | None = None) -> int:
        """Finish or clean half-written holds; returns how many were cleaned."""
        ...

    def claim_notices(self, now: datetime, limit: int) -> NoticeBatch:
        """Up to `limit` due notices, locked for the caller (no other worker or gateway
        gets them) until the batch is closed; a crash releases them."""
        ...

    def notice_counts(self) -> NoticeCounts: ...

    def close(self) -> None: ...
