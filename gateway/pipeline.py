"""What the SMTP layer asks of the decision side: a verdict at MAIL, RCPT and end of DATA."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from gateway.analysis.model import Analysis, Envelope
from gateway.policy.verdict import Verdict
from gateway.smtp.spool import Spool


@dataclass(frozen=True, slots=True)
class MessageDecision:
    verdict: Verdict
    analysis: Analysis | None = None


class Decider(Protocol):
    """Decides; never does SMTP I/O. Raising means: tempfail this step (fail closed)."""

    def sender(self, envelope: Envelope) -> Verdict: ...

    def recipient(self, envelope: Envelope, recipient: str) -> Verdict: ...

    async def message(self, envelope: Envelope, spool: Spool) -> MessageDecision: ...


class AcceptAll:
    """The decider with no policy: every step is accepted."""

    def sender(self, envelope: Envelope) -> Verdict:
        return Verdict()

    def recipient(self, envelope: Envelope, recipient: str) -> Verdict:
        return Verdict()

    async def message(self, envelope: Envelope, spool: Spool) -> MessageDecision:
        return MessageDecision(Verdict())
