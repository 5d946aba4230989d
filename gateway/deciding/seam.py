"""What the SMTP layer asks of the decision side: a verdict at MAIL, RCPT and end of DATA
(`Decider`), and that verdict carried out (`ActionStage`)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from gateway.analysis.model import Analysis
from gateway.auth.results import Authentication
from gateway.mail.envelope import Direction, Envelope
from gateway.mail.replies import Reply
from gateway.mail.spool import Spool
from gateway.policy.verdict import Verdict
from gateway.record.audit import AuditRecord

if TYPE_CHECKING:
    from gateway.outbound.upstream import UpstreamConnection


class Finisher(Protocol):
    """The last step of the relay path, after every header the gateway adds: takes the
    added header lines and the message, gives them back changed (DKIM signature on top)."""

    def __call__(self, header: bytes, spool: Spool) -> tuple[bytes, Spool]: ...


@dataclass(frozen=True, slots=True)
class MessageDecision:
    """The verdict on a message and what it was decided on: the analysis (what the message
    contains), the direction the policy computed from the envelope, the sender
    authentication; `finish` is the relay path's last step; `security_officer` the address
    of the policy's security officer (`settings.security_officer`), who is sent the
    officer's version of a hold notice."""

    verdict: Verdict
    analysis: Analysis | None = None
    authentication: Authentication | None = None
    finish: Finisher | None = None
    direction: Direction | None = None
    security_officer: str | None = None


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


@dataclass(frozen=True, slots=True)
class Decided:
    """A whole message and its decision, with what carrying it out needs from the session."""

    envelope: Envelope
    spool: Spool
    decision: MessageDecision
    #: The transaction's connection, MAIL and the accepted RCPTs sent; lent: the session
    #: that opened it releases it, whatever happens here.
    upstream: UpstreamConnection
    #: The client's MAIL parameters and the real client for XFORWARD (a redirect re-sends MAIL).
    mail_options: tuple[str, ...]
    xforward: Mapping[str, str]
    #: The `Received:` field the session adds on top of a message that leaves.
    received: bytes
    #: The transaction's audit record: the stage fills in the decision and the outcome.
    record: AuditRecord


@dataclass(frozen=True, slots=True)
class Disposed:
    """The client's final reply, and whether the lent connection may be pooled again."""

    reply: Reply
    reusable: bool


class ActionStage(Protocol):
    """Carries out verdicts; never speaks to the SMTP client (it returns the replies)."""

    def at_envelope(self, verdict: Verdict, utf8: bool) -> Reply | None:
        """Count a MAIL or RCPT verdict; the refusal when it stops the step, else None."""
        ...

    async def dispose(self, message: Decided) -> Disposed:
        """Relay, hold, redirect or refuse the message as its verdict says. 250 only after
        the upstream's 250 or the fsynced hold; every failure is a 4xx or 5xx."""
        ...
