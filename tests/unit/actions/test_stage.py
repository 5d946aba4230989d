"""The action stage picks one small object per action, by the verdict's action."""

from __future__ import annotations

import pytest

from gateway.actions.hold import Hold
from gateway.actions.redirect import Redirect
from gateway.actions.refuse import Refuse
from gateway.actions.relay import Relay
from gateway.actions.stage import ActionChains
from gateway.policy.verdict import Action, RuleHit, Verdict


def test_every_action_has_its_own_disposal() -> None:
    chains = ActionChains().chains
    assert set(chains) == set(Action)
    kinds = {action: type(chain) for action, chain in chains.items()}
    assert kinds == {Action.ACCEPT: Relay, Action.TAG: Relay, Action.REDIRECT: Redirect,
                     Action.QUARANTINE: Hold, Action.REJECT: Refuse, Action.TEMPFAIL: Refuse}


@pytest.mark.parametrize("action", list(Action))
def test_at_the_envelope_only_reject_and_tempfail_stop_the_step(action: Action) -> None:
    hit = RuleHit("r", action, status_code={Action.REJECT: 550, Action.TEMPFAIL: 451}.get(action),
                  message_en="No.")
    answer = ActionChains().at_envelope(Verdict(action, (hit,), deciding_rule=hit), utf8=False)
    if action is Action.REJECT:
        assert answer is not None and answer.render() == "550 5.7.1 No."
    elif action is Action.TEMPFAIL:
        assert answer is not None and answer.render() == "451 4.7.1 No."
    else:
        assert answer is None
