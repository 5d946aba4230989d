"""Refusing: a `reject` or `tempfail` verdict becomes the client's 5xx or 4xx."""

from __future__ import annotations

from gateway.deciding.seam import Decided, Disposed
from gateway.mail.replies import Reply, refusal
from gateway.outbound.upstream import reset
from gateway.policy.verdict import Action, Verdict

REFUSING = (Action.REJECT, Action.TEMPFAIL)


def verdict_refusal(verdict: Verdict, utf8: bool) -> Reply:
    """The deciding rule's own code and texts (both languages), or the default refusal."""
    hit = verdict.deciding_rule
    return refusal(
        hit.status_code if hit else None,
        hit.enhanced_status if hit else None,
        (hit.message_vi, hit.message_en) if hit else (),
        temporary=verdict.action is Action.TEMPFAIL,
        utf8=utf8,
        reason=f"rule {hit.name}" if hit else "policy",
    )


class Refuse:
    """`reject` and `tempfail` after DATA: nothing leaves; the upstream transaction is reset."""

    async def dispose(self, message: Decided) -> Disposed:
        verdict = message.decision.verdict
        message.record.outcome = "rejected" if verdict.action is Action.REJECT else "tempfailed"
        return Disposed(verdict_refusal(verdict, message.envelope.smtputf8),
                        await reset(message.upstream))
