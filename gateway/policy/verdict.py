"""The outcome of policy evaluation: plain values, no I/O."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class Action(StrEnum):
    """What happens to a message, weakest first."""

    ACCEPT = "accept"
    TAG = "tag"
    REDIRECT = "redirect"
    QUARANTINE = "quarantine"
    TEMPFAIL = "tempfail"
    REJECT = "reject"

    @property
    def strength(self) -> int:
        return _ACTION_STRENGTH[self]


_ACTION_STRENGTH = {action: rank for rank, action in enumerate(Action)}


class Mode(StrEnum):
    ENFORCE = "enforce"
    MONITOR = "monitor"


@dataclass(frozen=True, slots=True)
class RuleHit:
    """A rule that matched, and what it asked for.

    `reason` is what the conditions found, in English, `reason_vi` the same in
    Vietnamese. `recipients` are the offending recipients the rule named, `documents` the
    documents it named (`"file.pdf" (giay_moi)...`), `notify` the addresses to
    tell, `headers` the fields the rule adds when enforced (RFC 2047-encoded).
    """

    name: str
    action: Action
    mode: Mode = Mode.ENFORCE
    reason: str = ""
    reason_vi: str = ""
    status_code: int | None = None
    enhanced_status: str | None = None
    message_vi: str = ""
    message_en: str = ""
    notify: tuple[str, ...] = ()
    recipients: tuple[str, ...] = ()
    documents: tuple[str, ...] = ()
    headers: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, slots=True)
class Verdict:
    """The decision for one message (or one envelope step)."""

    action: Action = Action.ACCEPT
    rules: tuple[RuleHit, ...] = ()
    headers: tuple[tuple[str, str], ...] = ()
    redirect_to: tuple[str, ...] = ()
    deciding_rule: RuleHit | None = None
    missed: tuple[str, ...] = field(default_factory=tuple)
