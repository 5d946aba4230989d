"""What the SMTP layer asks of the decision side: a verdict at MAIL, RCPT and end of DATA."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from gateway.analysis.model import Analysis
from gateway.auth.results import Authentication
from gateway.mail.envelope import Direction, Envelope
from gateway.mail.spool import Spool
from gateway.policy.verdict import Verdict


class Finisher(Protocol):
    """The last step of the relay path, after every header the gateway adds: takes the
    added header lines and the message, gives them back changed (DKIM signature on top)."""

    def __call__(self, header: bytes, spool: Spool) -> tuple[bytes, Spool]: ...


@dataclass(frozen=True, slots=True)
class MessageDecision:
    """The verdict on a message and what it was decided on: the analysis (what the message
    contains), the direction the policy computed from the envelope, the sender
    authentication; `finish` is the relay path's last step."""

    verdict: Verdict
    analysis: Analysis | None = None
    authentication: Authentication | None = None
    finish: Finisher | None = None
    direction: Direction | None = None


class TransactionDecider(Protocol):
    """Decides one transaction under one policy; never does SMTP I/O.

    Raising means: tempfail this step (fail closed).
    """

    def sender(self, envelope: Envelope) -> Verdict: ...

    def recipient(self, envelope: Envelope, recipient: str) -> Verdict: ...

    async def message(self, envelope: Envelope, spool: Spool) -> MessageDecision: ...


class Decider(Protocol):
    """Hands out a `TransactionDecider` at MAIL: the policy a transaction starts with is the
    policy it finishes with, whatever reloads happen meanwhile."""

    def begin(self) -> TransactionDecider: ...


class AcceptAll:
    """The decider with no policy: every step is accepted."""

    def begin(self) -> TransactionDecider:
        return self

    def sender(self, envelope: Envelope) -> Verdict:
        return Verdict()

    def recipient(self, envelope: Envelope, recipient: str) -> Verdict:
        return Verdict()

    async def message(self, envelope: Envelope, spool: Spool) -> MessageDecision:
        return MessageDecision(Verdict())


class Holding(Protocol):
    """Where quarantined messages go, and who is told about them."""

    async def hold(self, message: Spool, envelope: Envelope, decision: MessageDecision,
                   session_ref: str) -> str:
        """Store the message durably (fsynced) and return its reference id."""
        ...

    def notify(self, reference: str, envelope: Envelope, decision: MessageDecision) -> None:
        """Start telling the sender and the security officer, in the background."""
        ...
