"""A compiled rule: its conditions, its action and how it speaks to people."""

from __future__ import annotations

from dataclasses import dataclass

from gateway.policy.conditions.base import Condition, Facts, Match, Stage
from gateway.policy.verdict import Action, Mode

REFUSAL_ACTIONS = frozenset({Action.REJECT, Action.TEMPFAIL})
DEFAULT_STATUS = {Action.REJECT: (550, "5.7.1"), Action.TEMPFAIL: (451, "4.7.1")}


def stage_of(when: tuple[Condition, ...], unless: tuple[tuple[Condition, ...], ...]) -> Stage:
    """The earliest step at which every condition (exceptions included) can be decided."""
    conditions = (*when, *(condition for group in unless for condition in group))
    return max((condition.stage for condition in conditions), default=Stage.SENDER)


@dataclass(frozen=True, slots=True)
class Rule:
    """One rule of the ordered list.

    It matches when every `when` condition holds and no `unless` group holds
    entirely. `stage` is the earliest SMTP step at which all its conditions
    can be decided. `origin` is `file:line:column` of the rule, for reports.
    """

    name: str
    description: str
    when: tuple[Condition, ...]
    unless: tuple[tuple[Condition, ...], ...]
    action: Action
    mode: Mode
    stop: bool
    status_code: int | None
    enhanced_status: str | None
    message_vi: str
    message_en: str
    notify: tuple[str, ...]
    redirect_to: tuple[str, ...]
    headers: tuple[tuple[str, str], ...]
    origin: str
    stage: Stage

    @property
    def at_envelope(self) -> bool:
        """A refusal decidable before DATA: enforced at MAIL/RCPT, skipped after DATA."""
        return self.stage < Stage.MESSAGE and self.action in REFUSAL_ACTIONS

    def match(self, facts: Facts) -> list[Match] | None:
        """What each `when` condition found, or None when the rule does not match."""
        found = []
        for condition in self.when:
            match = condition.test(facts)
            if match is None:
                return None
            found.append(match)
        for group in self.unless:
            if all(condition.test(facts) is not None for condition in group):
                return None
        return found
