"""The action stage: one small object per action, chosen by the verdict's action (as
Mailman gives each final action its own chain); the verdict is counted and recorded once,
here, whichever of them carries it out."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Protocol

from gateway.actions.hold import Hold, Holding
from gateway.actions.redirect import Redirect
from gateway.actions.refuse import REFUSING, Refuse, verdict_refusal
from gateway.actions.relay import Relay
from gateway.deciding.report import describe_decision
from gateway.deciding.seam import Decided, Disposed
from gateway.mail.replies import Reply
from gateway.outbound.upstream import Upstream, UpstreamError
from gateway.policy.verdict import Action, Verdict
from gateway.record import metrics


class Disposal(Protocol):
    """One action: carries out a verdict of its kind."""

    async def dispose(self, message: Decided) -> Disposed: ...


def _no_routes(address: str) -> Upstream:
    raise UpstreamError("config", f"no upstream settings to reach the route {address}")


def count_rules(verdict: Verdict) -> None:
    for hit in verdict.rules:
        metrics.RULE_HITS.labels(hit.name, hit.mode.value, hit.action.value).inc()


class ActionChains:
    """`gateway.deciding.seam.ActionStage`: `holding` takes quarantined messages (None: a
    hold tempfails), `route_upstream` reaches a redirect's own host."""

    def __init__(self, holding: Holding | None = None,
                 route_upstream: Callable[[str], Upstream] | None = None) -> None:
        relay, refuse = Relay(), Refuse()
        self.chains: Mapping[Action, Disposal] = {
            Action.ACCEPT: relay,
            Action.TAG: relay,
            Action.REDIRECT: Redirect(relay, route_upstream or _no_routes),
            Action.QUARANTINE: Hold(holding),
            Action.REJECT: refuse,
            Action.TEMPFAIL: refuse,
        }

    def at_envelope(self, verdict: Verdict, utf8: bool) -> Reply | None:
        """The refusal of a MAIL or RCPT step, counted; a step that lets the transaction on
        is counted with the message, which reports its monitor hits."""
        if verdict.action not in REFUSING:
            return None
        count_rules(verdict)
        return verdict_refusal(verdict, utf8)

    async def dispose(self, message: Decided) -> Disposed:
        verdict = message.decision.verdict
        count_rules(verdict)
        describe_decision(message.record, message.decision)
        metrics.DECISIONS.labels(message.record.direction or "unknown",
                                 verdict.action.value).inc()
        return await self.chains[verdict.action].dispose(message)
