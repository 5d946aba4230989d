"""Upstream failures logged once per outage, not once per session: at each point (MAIL,
end of data) the first failure is a WARNING and the ones after it DEBUG (all are counted
in tth_upstream_errors_total); the first success there afterwards says how long it
lasted and how many attempts failed."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

log = logging.getLogger("gateway.outbound.outage")


@dataclass(slots=True)
class _Outage:
    since: float
    failures: int = 0


class UpstreamOutage:
    """The outages of one owner's points (the session at MAIL, the relay at end of data)."""

    def __init__(self) -> None:
        self._outages: dict[str, _Outage] = {}

    def failed(self, where: str, detail: object) -> None:
        outage = self._outages.get(where)
        if outage is None:
            outage = self._outages[where] = _Outage(time.monotonic())
            log.warning("upstream failed at %s: %s (further failures there are logged "
                              "at DEBUG until it works again)", where, detail)
        else:
            log.debug("upstream failed at %s: %s", where, detail)
        outage.failures += 1

    def succeeded(self, where: str) -> None:
        outage = self._outages.pop(where, None)
        if outage is not None:
            log.warning("upstream works again at %s after %.0f s and %d failed "
                              "attempt(s)", where, time.monotonic() - outage.since,
                              outage.failures)
