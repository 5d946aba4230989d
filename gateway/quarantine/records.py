"""What both backends do alike: ids, the record of a new hold, sealing and opening bodies."""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import replace
from datetime import UTC, datetime

from gateway.mail.spool import Spool, unstuff
from gateway.quarantine.errors import HeldStateError, InvalidHeldId, QuarantineError
from gateway.quarantine.heldmeta import (
    DeletionInfo,
    HeldMetadata,
    HoldRequest,
    HoldStatus,
    ReleaseInfo,
)
from gateway.quarantine.sealing import KEY_SIZE, SealError, key_id, seal, unseal

ID_PATTERN = re.compile(r"\A[0-9]{8}T[0-9]{6}Z-[0-9a-f]{20}\Z")


def new_id(now: datetime) -> str:
    return f"{now.astimezone(UTC):%Y%m%dT%H%M%SZ}-{secrets.token_hex(10)}"


def check_id(held_id: str) -> str:
    """`held_id` when it is a well-formed id, else InvalidHeldId."""
    if not ID_PATTERN.match(held_id):
        raise InvalidHeldId(f"{held_id!r} is not a quarantine id (like 20261125T090035Z-…)")
    return held_id


def timestamp(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="seconds")


def check_key(key: bytes | None) -> bytes | None:
    if key is not None and len(key) != KEY_SIZE:
        raise SealError(f"the quarantine key must be {KEY_SIZE} bytes, not {len(key)}")
    return key


def message_bytes(message: bytes | Spool, header: bytes) -> bytes:
    """The message as the recipients would get it: the spool's wire form un-dot-stuffed."""
    if isinstance(message, Spool):
        return header + unstuff(message.getvalue())
    return header + message


def new_hold(message: bytes | Spool, request: HoldRequest, header: bytes, moment: datetime,
             key: bytes | None) -> tuple[HeldMetadata, bytes]:
    """The record of a new hold and the body to store (sealed when there is a key)."""
    held_id = new_id(moment)
    content = message_bytes(message, header)
    metadata = HeldMetadata(
        id=held_id,
        received=timestamp(moment),
        size=len(content),
        sha256=hashlib.sha256(content).hexdigest(),
        envelope=request.envelope,
        decision=request.decision,
        message_id=request.message_id,
        session=request.session,
        encryption=key_id(key) if key is not None else None,
    )
    stored = seal(key, content, held_id.encode()) if key is not None else content
    return metadata, stored


def open_body(metadata: HeldMetadata, stored: bytes, key: bytes | None) -> bytes:
    """The held message from its stored body, decrypted and checked against its SHA-256."""
    content = stored
    if metadata.encryption is not None:
        if key is None:
            raise SealError(
                f"held message {metadata.id} is encrypted (key {metadata.encryption}); "
                "set quarantine.encryption_key_file to read it"
            )
        if key_id(key) != metadata.encryption:
            raise SealError(
                f"held message {metadata.id} was encrypted with key {metadata.encryption}, "
                f"but the configured key is {key_id(key)}"
            )
        content = unseal(key, stored, metadata.id.encode())
    if hashlib.sha256(content).hexdigest() != metadata.sha256:
        raise QuarantineError(f"held message {metadata.id} does not match its recorded SHA-256")
    return content


def expect_held(metadata: HeldMetadata) -> HeldMetadata:
    if metadata.status is not HoldStatus.HELD:
        raise HeldStateError(f"held message {metadata.id} is {metadata.status.value}, not held")
    return metadata


def done_recipients(metadata: HeldMetadata) -> set[str]:
    """Recipients (lower case) an earlier release dealt with: delivered to, or refused for
    good (a refusal is recorded as "ADDRESS: 550 …"; a 4xx one may still be released)."""
    delivered = {r.lower() for rel in metadata.releases for r in rel.recipients}
    refusals = [entry.lower() for rel in metadata.releases for entry in rel.refused]
    refused = {r.lower() for r in metadata.envelope.rcpt_tos
               if any(entry.startswith(f"{r.lower()}: 5") for entry in refusals)}
    return delivered | refused


def released(metadata: HeldMetadata, info: ReleaseInfo) -> HeldMetadata:
    """The record after a release; still held while some recipients have not had theirs."""
    held = expect_held(metadata)
    after = replace(held, release=info, releases=(*held.releases, info))
    done = done_recipients(after)
    complete = all(r.lower() in done for r in held.envelope.rcpt_tos)
    return replace(after, status=HoldStatus.RELEASED) if complete else after


def deleted(metadata: HeldMetadata, by: str, at: datetime, reason: str = "") -> HeldMetadata:
    if metadata.status is HoldStatus.DELETED:
        raise HeldStateError(f"held message {metadata.id} was already deleted")
    info = DeletionInfo(by, timestamp(at), reason)
    return replace(metadata, status=HoldStatus.DELETED, deletion=info)


def last_change(metadata: HeldMetadata) -> datetime:
    """When the record last changed state (held: received; then the release or deletion)."""
    moment = metadata.received
    if metadata.status is HoldStatus.RELEASED and metadata.release is not None:
        moment = metadata.release.at
    elif metadata.status is HoldStatus.DELETED and metadata.deletion is not None:
        moment = metadata.deletion.at
    return datetime.fromisoformat(moment)


def purge_action(metadata: HeldMetadata, now: datetime,
                 retention: dict[HoldStatus, float]) -> str | None:
    """What retention asks for this record: "destroy" its body (held/released: becomes
    deleted by `retention`), "forget" it (deleted: the record goes too), or nothing."""
    limit = retention.get(metadata.status)
    if limit is None or (now - last_change(metadata)).total_seconds() < limit:
        return None
    return "forget" if metadata.status is HoldStatus.DELETED else "destroy"
