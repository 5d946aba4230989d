"""The local-folder quarantine store (the default): one folder, one set of files per hold.

Layout: `<id>.eml` (or `<id>.eml.aes` when encrypted at rest), `<id>.notices`
(the durable notice queue of that hold) and `<id>.json` (the record). Each file
is written atomically (temporary name, fsync, rename, folder fsync), mode 0600,
and the record last: the record is the commit. A crash before it leaves files
without a record, which no command shows and `recover` removes once they are
older than `grace` (another worker may be writing them right now). Ids are a
UTC time and 80 random bits, so they sort by arrival, cannot be guessed, and
are safe as file names; any other string is refused before it nears a path.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

from pydantic import ValidationError

from gateway.config import QuarantineSettings
from gateway.mail.durable import TEMPORARY_SUFFIX, fsync_directory, write_durably
from gateway.mail.spool import Spool
from gateway.quarantine import localnotices
from gateway.quarantine.errors import (
    HeldBusy,
    HeldNotFound,
    HeldStateError,
    QuarantineError,
    StoreNotWritable,
)
from gateway.quarantine.heldmeta import (
    HeldMetadata,
    HoldRequest,
    HoldStatus,
    ReleaseInfo,
    metadata_json,
    parse_metadata,
)
from gateway.quarantine.interface import (
    NoticeCounts,
    NoticeFactory,
    Search,
)
from gateway.quarantine.records import (
    ID_PATTERN,
    check_id,
    check_key,
    deleted,
    new_hold,
    open_body,
    released,
    timestamp,
)
from gateway.quarantine.sealing import load_key

log = logging.getLogger("gateway.quarantine.local")

RECOVERY_GRACE = 300.0
_SUFFIXES = (".eml.aes", ".eml", localnotices.SUFFIX, ".json")


def _held_id_of(name: str) -> str | None:
    """The hold a file in the folder belongs to (temporary names included), if any."""
    base = name.removeprefix(".").removesuffix(TEMPORARY_SUFFIX)
    for suffix in _SUFFIXES:
        if base.endswith(suffix) and ID_PATTERN.match(base[: -len(suffix)]):
            return base[: -len(suffix)]
    return None


def _not_writable(held_id: str, exc: OSError) -> StoreNotWritable:
    return StoreNotWritable(f"held message {held_id} cannot be changed by you "
                            f"({exc.filename}: {exc.strerror}); nothing was done")


class QuarantineStore:
    """Held messages in one folder; `key` (32 bytes) encrypts new messages at rest."""

    def __init__(self, directory: Path, key: bytes | None = None) -> None:
        self.directory = directory
        self._key = check_key(key)

    @classmethod
    def from_settings(cls, settings: QuarantineSettings) -> QuarantineStore:
        key_file = settings.encryption_key_file
        return cls(settings.path, load_key(key_file) if key_file is not None else None)

    def close(self) -> None:
        return None

    # paths

    def _metadata_path(self, held_id: str) -> Path:
        return self.directory / f"{check_id(held_id)}.json"

    def _message_path(self, held_id: str, encrypted: bool) -> Path:
        suffix = ".eml.aes" if encrypted else ".eml"
        return self.directory / f"{check_id(held_id)}{suffix}"

    def _notices_path(self, held_id: str) -> Path:
        return self.directory / f"{check_id(held_id)}{localnotices.SUFFIX}"

    # writing

    def hold(self, message: bytes | Spool, request: HoldRequest, *, header: bytes = b"",
             now: datetime | None = None, notices: NoticeFactory | None = None) -> str:
        """Store the message, its notices and its record durably; returns the new id."""
        moment = now or datetime.now(UTC)
        metadata, stored = new_hold(message, request, header, moment, self._key)
        self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        write_durably(self._message_path(metadata.id, self._key is not None), [stored])
        outgoing = notices(metadata.id) if notices is not None else ()
        if outgoing:
            localnotices.write_new(self._notices_path(metadata.id), outgoing, moment)
        self._write_metadata(metadata)
        return metadata.id

    def _write_metadata(self, metadata: HeldMetadata) -> None:
        write_durably(self._metadata_path(metadata.id), [metadata_json(metadata)])

    def recover(self, now: datetime | None = None, grace: float = RECOVERY_GRACE) -> int:
        """Remove what a crash left half-written (files of a hold with no record, temporary
        files) once older than `grace` seconds; returns how many holds were cleaned."""
        if not self.directory.is_dir():
            return 0
        limit = (now or datetime.now(UTC)).timestamp() - grace
        committed = {p.stem for p in self.directory.glob("*.json") if ID_PATTERN.match(p.stem)}
        cleaned: set[str] = set()
        for path in self.directory.iterdir():
            held_id = _held_id_of(path.name)
            temporary = path.name.endswith(TEMPORARY_SUFFIX)
            if held_id is None or (held_id in committed and not temporary):
                continue
            with contextlib.suppress(FileNotFoundError):
                if path.stat().st_mtime <= limit:
                    path.unlink()
                    cleaned.add(held_id)
        if cleaned:
            fsync_directory(self.directory)
        return len(cleaned - committed)

    # reading

    def get(self, held_id: str) -> HeldMetadata:
        path = self._metadata_path(held_id)
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            raise HeldNotFound(f"no held message {held_id}") from None
        except OSError as exc:
            raise QuarantineError(f"{path}: {exc.strerror}") from exc
        try:
            return parse_metadata(data)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(map(str, first["loc"]))
            raise QuarantineError(f"{path} is not quarantine metadata "
                                  f"({where + ': ' if where else ''}{first['msg']})") from exc

    def _ids(self) -> list[str]:
        """The ids of the records in the folder; none when it does not exist yet (nothing
        was ever held). A folder that cannot be listed is a QuarantineError, never an
        empty quarantine."""
        try:
            names = os.listdir(self.directory)
        except FileNotFoundError:
            return []
        except OSError as exc:  # not a folder, no permission
            raise QuarantineError(f"quarantine folder {self.directory}: {exc.strerror}") from exc
        stems = (name.removesuffix(".json") for name in names if name.endswith(".json"))
        return sorted(stem for stem in stems if ID_PATTERN.match(stem))

    def find(self, search: Search | None = None) -> list[HeldMetadata]:
        """The records (held, released and deleted) that match `search`, oldest first. A
        record that cannot be read is left out with a WARNING naming it: one damaged file
        does not hide the others."""
        records: list[HeldMetadata] = []
        for held_id in self._ids():
            try:
                records.append(self.get(held_id))
            except HeldNotFound:
                continue
            except QuarantineError as exc:
                log.warning("%s; left out", exc)
        return [m for m in records if search is None or search.matches(m)]

    def read_message(self, held_id: str) -> bytes:
        """The held message's bytes, decrypted and checked against the recorded SHA-256."""
        metadata = self.get(held_id)
        if metadata.status is HoldStatus.DELETED:
            raise HeldStateError(f"held message {held_id} was deleted")
        stored = self._message_path(held_id, metadata.encryption is not None).read_bytes()
        return open_body(metadata, stored, self._key)

    # state changes

    @contextlib.contextmanager
    def locked(self, held_id: str) -> Iterator[LocalHandle]:
        """Exclusive use of one record across processes (flock, never waits), only for one
        who may rewrite it (the record opened for writing, the folder writable):
        StoreNotWritable otherwise, before anything is done."""
        path = self._metadata_path(held_id)
        try:
            descriptor = os.open(path, os.O_RDWR)
        except FileNotFoundError:
            raise HeldNotFound(f"no held message {held_id}") from None
        except OSError as exc:
            raise _not_writable(held_id, exc) from None
        try:
            try:
                fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise HeldBusy(f"held message {held_id} is busy (another command)") from None
            self._check_writable(held_id)
            yield LocalHandle(self, self.get(held_id))
        finally:
            os.close(descriptor)

    def _check_writable(self, held_id: str) -> None:
        """Create and remove the temporary file the record is rewritten through (under the
        lock, so nobody else writes it): a folder we may not write fails before any change."""
        temporary = self.directory / f".{held_id}.json{TEMPORARY_SUFFIX}"
        try:
            os.close(os.open(temporary, os.O_WRONLY | os.O_CREAT, 0o600))
            temporary.unlink()
        except OSError as exc:
            raise _not_writable(held_id, exc) from None

    def _destroy_body(self, metadata: HeldMetadata) -> None:
        self._message_path(metadata.id, metadata.encryption is not None).unlink(missing_ok=True)
        fsync_directory(self.directory)

    # the notice queue

    def claim_notices(self, now: datetime, limit: int) -> localnotices.LocalNoticeBatch:
        paths = ((held_id, self._notices_path(held_id)) for held_id in self._ids())
        return localnotices.LocalNoticeBatch(
            self.directory, ((held_id, path) for held_id, path in paths if path.exists()),
            now, limit,
        )

    def notice_counts(self) -> NoticeCounts:
        paths = [self._notices_path(held_id) for held_id in self._ids()]
        return localnotices.count([p for p in paths if p.exists()])


class LocalHandle:
    """A locked record of the local store."""

    def __init__(self, store: QuarantineStore, metadata: HeldMetadata) -> None:
        self._store = store
        self.metadata = metadata

    def read_message(self) -> bytes:
        return self._store.read_message(self.metadata.id)

    def mark_released(self, by: str, at: datetime, upstream_reply: str, *,
                      recipients: tuple[str, ...] = (), refused: tuple[str, ...] = (),
                      reason: str = "") -> HeldMetadata:
        """Record that the message went to the upstream, who sent it, when and why."""
        info = ReleaseInfo(by, timestamp(at), upstream_reply, recipients, refused, reason)
        self.metadata = released(self.metadata, info)
        self._store._write_metadata(self.metadata)
        return self.metadata

    def delete(self, by: str, at: datetime, *, reason: str = "") -> HeldMetadata:
        """Remove the message bytes; the record stays, saying who deleted it and why."""
        updated = deleted(self.metadata, by, at, reason)
        self._store._destroy_body(self.metadata)
        self.metadata = updated
        self._store._write_metadata(updated)
        return updated

    def forget(self) -> None:
        """Remove every file of the hold, the record last (retention of the record over)."""
        directory = self._store.directory
        for suffix in _SUFFIXES:
            (directory / f"{self.metadata.id}{suffix}").unlink(missing_ok=True)
        fsync_directory(directory)
