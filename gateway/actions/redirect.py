"""The route of a `redirect` verdict: other recipients, another host, or both."""

from __future__ import annotations

import re
from dataclasses import dataclass

from gateway.config import MAILDIR_PREFIX, parse_hostport
from gateway.mail.envelope import Envelope
from gateway.policy.verdict import Verdict

HOST_PREFIX = "smtp:"
_ADDRESS = re.compile(r"\A[^\s<>@\x00-\x1f\x7f]+@[^\s<>@\x00-\x1f\x7f]+\Z")


class RedirectError(ValueError):
    """The redirect route is empty or malformed (a policy mistake: tempfail, never relay)."""


@dataclass(frozen=True, slots=True)
class RedirectRoute:
    """Where the message goes instead: `recipients`, through `upstream` (None: the usual one)."""

    recipients: tuple[str, ...]
    upstream: str | None = None


def plan_redirect(verdict: Verdict, envelope: Envelope) -> RedirectRoute:
    """Read `verdict.redirect_to`: addresses, and at most one `smtp:HOST[:PORT]` or
    `maildir:FOLDER` route; with a route and no address, the original recipients go there."""
    recipients: list[str] = []
    routes: list[str] = []
    for entry in verdict.redirect_to:
        if entry.startswith(HOST_PREFIX):
            host = entry[len(HOST_PREFIX) :]
            try:
                parse_hostport(host, 25)
            except ValueError as exc:
                raise RedirectError(f"bad redirect host {entry!r}: {exc}") from exc
            routes.append(host)
        elif entry.startswith(MAILDIR_PREFIX) and entry[len(MAILDIR_PREFIX) :]:
            routes.append(entry)
        elif _ADDRESS.match(entry):
            recipients.append(entry)
        else:
            raise RedirectError(f"bad redirect entry {entry!r} (address, smtp:HOST or maildir:DIR)")
    if len(routes) > 1:
        raise RedirectError(f"a redirect has at most one route, not {routes}")
    if not recipients and not routes:
        raise RedirectError("redirect without a route or recipients")
    chosen = tuple(dict.fromkeys(recipients)) or tuple(envelope.rcpt_tos)
    return RedirectRoute(chosen, routes[0] if routes else None)
