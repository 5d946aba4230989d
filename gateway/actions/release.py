"""Releasing a held message: relay it to the upstream for its original recipients, record it."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from gateway.actions.delivery import DeliveryResult, deliver_via
from gateway.actions.heldmeta import HeldMetadata, HoldStatus
from gateway.actions.quarantine import HeldStateError, QuarantineError, QuarantineStore
from gateway.smtp.ownheaders import Namespace, strip_own
from gateway.smtp.replies import fold_to_ascii
from gateway.smtp.upstream import Upstream, UpstreamError

_UNSAFE = re.compile(r"[\x00-\x1f\x7f;]+")


class ReleaseFailed(QuarantineError):
    """The upstream did not take the message; it stays held. `temporary`: try again later."""

    def __init__(self, detail: str, *, temporary: bool) -> None:
        super().__init__(detail)
        self.temporary = temporary


def release_header(held_id: str, by: str, at: datetime) -> bytes:
    """A trace field saying the message left the quarantine, by whom and when."""
    who = fold_to_ascii(_UNSAFE.sub(" ", by)).strip() or "unknown"
    stamp = at.astimezone(UTC).strftime("%a, %d %b %Y %H:%M:%S +0000")
    return f"X-TTH-Released: {held_id}; by={who}; {stamp}\r\n".encode("ascii")


async def _send(upstream: Upstream, metadata: HeldMetadata, message: bytes,
                header: bytes) -> DeliveryResult:
    envelope = metadata.envelope
    try:
        return await deliver_via(upstream, envelope.mail_from, envelope.rcpt_tos, message,
                                 header=header, utf8=envelope.smtputf8)
    except UpstreamError as exc:
        raise ReleaseFailed(f"upstream unavailable or failed: {exc}", temporary=True) from exc


async def release_held(
    store: QuarantineStore,
    held_id: str,
    upstream: Upstream,
    *,
    by: str,
    now: datetime | None = None,
    namespace: Namespace | None = None,
) -> HeldMetadata:
    """Relay the held message to its original recipients; the metadata records the release.

    Fields of the gateway's header namespace in the held copy (a hold made before
    they were removed on entry) are removed before `X-TTH-Released` is added.
    """
    at = now or datetime.now(UTC)
    with store.locked(held_id) as metadata:
        if metadata.status is not HoldStatus.HELD:
            raise HeldStateError(f"held message {held_id} is {metadata.status.value}, not held")
        message, _ = strip_own(store.read_message(held_id), namespace or Namespace())
        result = await _send(upstream, metadata, message, release_header(held_id, by, at))
        if not result.delivered:
            detail = "; ".join((result.reply.render(), *result.refused))
            raise ReleaseFailed(f"upstream refused: {detail}", temporary=result.temporary)
        return store.mark_released(
            held_id,
            by,
            at,
            result.reply.render(),
            recipients=result.accepted,
            refused=result.refused,
        )
