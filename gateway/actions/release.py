"""Releasing a held message: relay it to the upstream (all or some recipients), record it.

A classified hold is released only by a security officer (`quarantine.officers`);
any other hold may be released to some of its recipients (e.g. a mis-held
invitation a recipient asked for), recorded with who and why; it stays held for
the others until they are released too.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime

from gateway.mail.envelope import Direction
from gateway.mail.headers import UnsignableHeader
from gateway.mail.ownheaders import Namespace, strip_own
from gateway.mail.replies import fold_to_ascii
from gateway.outbound.delivery import DeliveryResult, deliver_via
from gateway.outbound.upstream import Upstream, UpstreamError
from gateway.quarantine.errors import HeldStateError, QuarantineError
from gateway.quarantine.heldmeta import HeldMetadata
from gateway.quarantine.interface import Store
from gateway.quarantine.records import done_recipients, expect_held

_UNSAFE = re.compile(r"[\x00-\x1f\x7f;]+")
#: The DKIM-Signature fields for a message going out in a direction (b"" for none).
Signing = Callable[[Direction | None, bytes], bytes]


class ReleaseFailed(QuarantineError):
    """The upstream did not take the message; it stays held. `temporary`: try again later."""

    def __init__(self, detail: str, *, temporary: bool) -> None:
        super().__init__(detail)
        self.temporary = temporary


class DeliveredNotRecorded(QuarantineError):
    """The upstream took the message but its record could not be updated: it says held."""

    def __init__(self, metadata: HeldMetadata, result: DeliveryResult, cause: Exception) -> None:
        super().__init__(
            f"held message {metadata.id} WAS delivered to {', '.join(result.accepted)} "
            f"({result.reply.render()}), but its record could not be updated ({cause}): "
            "it still says held; do not release it again"
        )
        self.metadata = metadata
        self.result = result


class NotAllowed(HeldStateError):
    """The one acting may not do this (e.g. release a classified hold without being officer)."""


def release_header(held_id: str, by: str, at: datetime) -> bytes:
    """A trace field saying the message left the quarantine, by whom and when."""
    who = fold_to_ascii(_UNSAFE.sub(" ", by)).strip() or "unknown"
    stamp = at.astimezone(UTC).strftime("%a, %d %b %Y %H:%M:%S +0000")
    return f"X-TTH-Released: {held_id}; by={who}; {stamp}\r\n".encode("ascii")


async def _send(upstream: Upstream, metadata: HeldMetadata, recipients: tuple[str, ...],
                message: bytes, header: bytes) -> DeliveryResult:
    envelope = metadata.envelope
    try:
        return await deliver_via(upstream, envelope.mail_from, recipients, message,
                                 header=header, utf8=envelope.smtputf8)
    except UpstreamError as exc:
        raise ReleaseFailed(f"upstream unavailable or failed: {exc}", temporary=True) from exc


def _targets(metadata: HeldMetadata, wanted: tuple[str, ...]) -> tuple[str, ...]:
    """The recipients to release to: `wanted` (each one of the message's, none released to
    or refused for good before), or all those left."""
    done = done_recipients(metadata)
    if not wanted:
        left = tuple(r for r in metadata.envelope.rcpt_tos if r.lower() not in done)
        if not left:
            raise HeldStateError(f"held message {metadata.id} has no recipient left: each "
                                 "was released to or refused for good")
        return left
    known = {r.lower(): r for r in metadata.envelope.rcpt_tos}
    unknown = [r for r in wanted if r.lower() not in known]
    if unknown:
        raise HeldStateError(f"{', '.join(unknown)} is not a recipient of {metadata.id}")
    if metadata.decision.classification:
        raise NotAllowed(f"held message {metadata.id} is classified: it is released whole, "
                         "by a security officer, or not at all")
    again = [r for r in wanted if r.lower() in done]
    if again:
        raise HeldStateError(f"held message {metadata.id} was already released to (or "
                             f"refused for good by) {', '.join(again)}")
    return tuple(dict.fromkeys(known[r.lower()] for r in wanted))


def _direction(metadata: HeldMetadata) -> Direction | None:
    """The direction the hold recorded (None for a hold made before it was recorded)."""
    return next((d for d in Direction if d.value == metadata.decision.direction), None)


def _signed(sign: Signing, direction: Direction | None, header: bytes, message: bytes) -> bytes:
    """`header` with the DKIM signature over it and the held copy; a header the signer
    cannot read is a lasting failure (nothing is sent: never unsigned)."""
    try:
        return sign(direction, header + message) + header
    except UnsignableHeader as exc:
        raise ReleaseFailed(f"the held message cannot be DKIM-signed ({exc}); nothing was "
                            "sent", temporary=False) from exc


async def release_held(
    store: Store,
    held_id: str,
    upstream: Upstream,
    *,
    by: str,
    officer: bool = True,
    reason: str = "",
    recipients: tuple[str, ...] = (),
    now: datetime | None = None,
    namespace: Namespace | None = None,
    sign: Signing | None = None,
) -> HeldMetadata:
    """Relay the held message (to `recipients`, default all); the record says who and why.
    Exactly one of concurrent releases (on any host sharing the store) does it, and only
    one who may change the record (the store's lock says so before anything is sent); a
    record that still fails after the upstream took the message is DeliveredNotRecorded.
    Fields of the gateway's header namespace in the held copy (a hold made before they
    were removed on entry) are removed before `X-TTH-Released` is added; `sign` then
    DKIM-signs mail from inside over both, as the relay path does."""
    at = now or datetime.now(UTC)
    sent: tuple[HeldMetadata, DeliveryResult] | None = None
    try:
        with store.locked(held_id) as handle:
            metadata = expect_held(handle.metadata)
            if metadata.decision.classification and not officer:
                raise NotAllowed(f"held message {held_id} is classified "
                                 f"({metadata.decision.classification}): only a security "
                                 "officer (quarantine.officers) may release it")
            targets = _targets(metadata, recipients)
            message, _ = strip_own(handle.read_message(), namespace or Namespace())
            header = release_header(held_id, by, at)
            if sign is not None:
                header = _signed(sign, _direction(metadata), header, message)
            result = await _send(upstream, metadata, targets, message, header)
            if not result.delivered:
                detail = "; ".join((result.reply.render(), *result.refused))
                raise ReleaseFailed(f"upstream refused: {detail}", temporary=result.temporary)
            sent = metadata, result
            return handle.mark_released(by, at, result.reply.render(),
                                        recipients=result.accepted, refused=result.refused,
                                        reason=reason)
    except Exception as exc:  # the record (or its commit, as the lock ends) failed
        if sent is None:
            raise
        raise DeliveredNotRecorded(*sent, exc) from exc
