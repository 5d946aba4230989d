"""The policy's evaluation of one message, within a time limit.

A rule's regular expression can take exponential time on a value written to
trip it (`^(a+)+$`), and the evaluation runs on the SMTP worker's event loop:
every session of the worker would wait. Past `POLICY_SECONDS` the evaluation is
interrupted (SIGALRM, in the main thread) and the message gets a temporary
failure: a policy that cannot decide never lets a message through.
"""

from __future__ import annotations

from collections.abc import Callable

from gateway.analysis.timelimit import TimeLimitExceeded, alarm
from gateway.policy.verdict import Verdict

#: Far above what any policy takes (a few ms for 500 rules), far below a client's patience.
POLICY_SECONDS = 5.0


class PolicyTooSlow(Exception):
    """The policy did not decide on one message within its time."""


def within_time_limit(evaluate: Callable[[], Verdict],
                      seconds: float = POLICY_SECONDS) -> Verdict:
    """`evaluate()`, or PolicyTooSlow once it has run for `seconds`."""
    try:
        with alarm(seconds):
            return evaluate()
    except TimeLimitExceeded:
        raise PolicyTooSlow(
            f"the policy took more than {seconds:g} s on this message; a rule's regular "
            "expression is probably too costly (nested repetition such as '(a+)+')") from None
