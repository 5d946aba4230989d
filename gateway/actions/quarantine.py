"""The quarantine store: each held message and its JSON metadata, durable before the 250.

Layout of the folder: `<id>.eml` (or `<id>.eml.aes` when encrypted at rest) and
`<id>.json`. The message file is written first, the metadata last, each
atomically (temporary file, fsync, rename, folder fsync): a metadata file
always describes a complete message. Ids are a UTC time and 80 random bits,
so they sort by arrival, cannot be guessed, and are safe as file names; any
other string is refused before it comes near a path.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import re
import secrets
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

from pydantic import ValidationError

from gateway.actions.durable import fsync_directory, write_durably
from gateway.actions.heldmeta import (
    DeletionInfo,
    HeldMetadata,
    HoldRequest,
    HoldStatus,
    ReleaseInfo,
    metadata_json,
    parse_metadata,
)
from gateway.actions.sealing import KEY_SIZE, SealError, key_id, load_key, seal, unseal
from gateway.config import QuarantineSettings
from gateway.smtp.spool import Spool, unstuff

ID_PATTERN = re.compile(r"\A[0-9]{8}T[0-9]{6}Z-[0-9a-f]{20}\Z")


class QuarantineError(Exception):
    """A quarantine operation cannot be done; the message says why."""


class InvalidHeldId(QuarantineError):
    """The string is not a quarantine id."""


class HeldNotFound(QuarantineError):
    """No held message has this id."""


class HeldStateError(QuarantineError):
    """The held message is not in a state that allows the operation."""


class HeldBusy(HeldStateError):
    """Another command is working on this held message right now."""


def new_id(now: datetime) -> str:
    return f"{now.astimezone(UTC):%Y%m%dT%H%M%SZ}-{secrets.token_hex(10)}"


def check_id(held_id: str) -> str:
    """`held_id` when it is a well-formed id, else InvalidHeldId."""
    if not ID_PATTERN.match(held_id):
        raise InvalidHeldId(f"{held_id!r} is not a quarantine id (like 20261125T090035Z-…)")
    return held_id


def _timestamp(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="seconds")


def _message_bytes(message: bytes | Spool, header: bytes) -> bytes:
    """The message as the recipients would get it: the spool's wire form un-dot-stuffed."""
    if isinstance(message, Spool):
        return header + unstuff(message.getvalue())
    return header + message


class QuarantineStore:
    """Held messages in one folder; `key` (32 bytes) encrypts new messages at rest."""

    def __init__(self, directory: Path, key: bytes | None = None) -> None:
        if key is not None and len(key) != KEY_SIZE:
            raise SealError(f"the quarantine key must be {KEY_SIZE} bytes, not {len(key)}")
        self.directory = directory
        self._key = key

    @classmethod
    def from_settings(cls, settings: QuarantineSettings) -> QuarantineStore:
        key_file = settings.encryption_key_file
        return cls(settings.path, load_key(key_file) if key_file is not None else None)

    # paths

    def _metadata_path(self, held_id: str) -> Path:
        return self.directory / f"{check_id(held_id)}.json"

    def _message_path(self, held_id: str, encrypted: bool) -> Path:
        suffix = ".eml.aes" if encrypted else ".eml"
        return self.directory / f"{check_id(held_id)}{suffix}"

    # writing

    def hold(
        self,
        message: bytes | Spool,
        request: HoldRequest,
        *,
        header: bytes = b"",
        now: datetime | None = None,
    ) -> str:
        """Store the message and its metadata durably; returns the new id."""
        moment = now or datetime.now(UTC)
        held_id = new_id(moment)
        content = _message_bytes(message, header)
        metadata = HeldMetadata(
            id=held_id,
            received=_timestamp(moment),
            size=len(content),
            sha256=hashlib.sha256(content).hexdigest(),
            envelope=request.envelope,
            decision=request.decision,
            message_id=request.message_id,
            session=request.session,
            encryption=key_id(self._key) if self._key is not None else None,
        )
        self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        stored = seal(self._key, content, held_id.encode()) if self._key is not None else content
        write_durably(self._message_path(held_id, self._key is not None), [stored])
        self._write_metadata(metadata)
        return held_id

    def _write_metadata(self, metadata: HeldMetadata) -> None:
        write_durably(self._metadata_path(metadata.id), [metadata_json(metadata)])

    # reading

    def get(self, held_id: str) -> HeldMetadata:
        path = self._metadata_path(held_id)
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            raise HeldNotFound(f"no held message {held_id}") from None
        try:
            return parse_metadata(data)
        except ValidationError as exc:
            raise QuarantineError(f"{path} is not quarantine metadata: {exc}") from exc

    def list(self) -> list[HeldMetadata]:
        """Every record (held, released and deleted), oldest first."""
        if not self.directory.is_dir():
            return []
        ids = sorted(
            path.stem for path in self.directory.glob("*.json") if ID_PATTERN.match(path.stem)
        )
        return [self.get(held_id) for held_id in ids]

    def read_message(self, held_id: str) -> bytes:
        """The held message's bytes, decrypted and checked against the recorded SHA-256."""
        metadata = self.get(held_id)
        if metadata.status is HoldStatus.DELETED:
            raise HeldStateError(f"held message {held_id} was deleted")
        encrypted = metadata.encryption is not None
        stored = self._message_path(held_id, encrypted).read_bytes()
        content = self._open(metadata, stored) if encrypted else stored
        if hashlib.sha256(content).hexdigest() != metadata.sha256:
            raise QuarantineError(f"held message {held_id} does not match its recorded SHA-256")
        return content

    def _open(self, metadata: HeldMetadata, stored: bytes) -> bytes:
        if self._key is None:
            raise SealError(
                f"held message {metadata.id} is encrypted (key {metadata.encryption}); "
                "set quarantine.encryption_key_file to read it"
            )
        if key_id(self._key) != metadata.encryption:
            raise SealError(
                f"held message {metadata.id} was encrypted with key {metadata.encryption}, "
                f"but the configured key is {key_id(self._key)}"
            )
        return unseal(self._key, stored, metadata.id.encode())

    # state changes (callers hold `locked(id)` around read-check-act sequences)

    @contextlib.contextmanager
    def locked(self, held_id: str) -> Iterator[HeldMetadata]:
        """Exclusive use of one record across processes; yields its current metadata."""
        path = self._metadata_path(held_id)
        try:
            descriptor = os.open(path, os.O_RDONLY)
        except FileNotFoundError:
            raise HeldNotFound(f"no held message {held_id}") from None
        try:
            try:
                fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise HeldBusy(f"held message {held_id} is busy (another command)") from None
            yield self.get(held_id)
        finally:
            os.close(descriptor)

    def mark_released(
        self,
        held_id: str,
        by: str,
        at: datetime,
        upstream_reply: str,
        *,
        recipients: tuple[str, ...] = (),
        refused: tuple[str, ...] = (),
    ) -> HeldMetadata:
        """Record that the message went to the upstream, who sent it and when."""
        metadata = self._expect_held(held_id)
        info = ReleaseInfo(by, _timestamp(at), upstream_reply, recipients, refused)
        updated = replace(metadata, status=HoldStatus.RELEASED, release=info)
        self._write_metadata(updated)
        return updated

    def delete(self, held_id: str, by: str, at: datetime | None = None) -> HeldMetadata:
        """Remove the message bytes; the metadata stays as the record of who deleted it."""
        metadata = self.get(held_id)
        if metadata.status is HoldStatus.DELETED:
            raise HeldStateError(f"held message {held_id} was already deleted")
        path = self._message_path(held_id, metadata.encryption is not None)
        path.unlink(missing_ok=True)
        fsync_directory(self.directory)
        updated = replace(
            metadata,
            status=HoldStatus.DELETED,
            deletion=DeletionInfo(by, _timestamp(at or datetime.now(UTC))),
        )
        self._write_metadata(updated)
        return updated

    def _expect_held(self, held_id: str) -> HeldMetadata:
        metadata = self.get(held_id)
        if metadata.status is not HoldStatus.HELD:
            raise HeldStateError(f"held message {held_id} is {metadata.status.value}, not held")
        return metadata
