"""MAIL and each RCPT of a transaction as the live gateway runs them, before DATA.

The one simulation of the envelope steps: `tth-gateway check` and
`engine.evaluate_transaction` (the tests' and benchmarks' way to judge a whole
transaction) both walk the steps here. Like the SMTP session, each RCPT is judged
with the recipients accepted before it, a refused sender ends the transaction, and
when no recipient is left the last refusal is what the client saw.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass

from gateway.mail.envelope import Envelope
from gateway.policy.verdict import Action, RuleHit, Verdict


@dataclass(frozen=True, slots=True)
class EnvelopeSteps:
    """The sender's verdict, each recipient's, and the refusal that ends the transaction
    before DATA (None when DATA comes)."""

    sender: Verdict
    recipients: tuple[tuple[str, Verdict], ...]
    accepted: tuple[str, ...]
    refusal: Verdict | None

    @property
    def stage(self) -> str:
        """The step that decided: `mail`, `rcpt`, or `data` (none refused)."""
        if self.refusal is None:
            return "data"
        return "mail" if refuses(self.sender) else "rcpt"

    @property
    def rules(self) -> tuple[RuleHit, ...]:
        """Every hit of the steps, in order."""
        return (*self.sender.rules, *(hit for _, v in self.recipients for hit in v.rules))

    @property
    def missed(self) -> tuple[str, ...]:
        """Every rule the steps tried that did not match, once each."""
        found = [*self.sender.missed, *(name for _, v in self.recipients for name in v.missed)]
        return tuple(dict.fromkeys(found))


def envelope_steps(
    sender: Callable[[Envelope], Verdict],
    recipient: Callable[[Envelope, str], Verdict],
    envelope: Envelope,
) -> EnvelopeSteps:
    """Run MAIL (`sender`) then each RCPT (`recipient`) over `envelope`'s recipients."""
    judged = sender(dataclasses.replace(envelope, rcpt_tos=()))
    accepted: list[str] = []
    recipients: list[tuple[str, Verdict]] = []
    for rcpt in envelope.rcpt_tos if not refuses(judged) else ():
        verdict = recipient(dataclasses.replace(envelope, rcpt_tos=tuple(accepted)), rcpt)
        recipients.append((rcpt, verdict))
        if not refuses(verdict):
            accepted.append(rcpt)
    refusal: Verdict | None = None
    if refuses(judged):
        refusal = judged
    elif not accepted:
        refusal = recipients[-1][1] if recipients else Verdict(Action.REJECT)
    return EnvelopeSteps(judged, tuple(recipients), tuple(accepted), refusal)


def refuses(verdict: Verdict) -> bool:
    """A verdict that ends the SMTP step with an error reply."""
    return verdict.action in (Action.REJECT, Action.TEMPFAIL)
