"""How many connections a worker holds, in all and per client address."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from gateway.mail.replies import Reply

if TYPE_CHECKING:
    from gateway.smtp.server import GatewaySMTP

#: The text of the 421 for each reason a connection is refused.
TOO_MANY = {
    "total": "Too many connections to this gateway, try again later",
    "per_ip": "Too many connections from your address, try again later",
}


class ConnectionLimiter:
    """Counts open connections, in all and per client address, for one worker."""

    def __init__(self, total: int, per_ip: int) -> None:
        self.total = total
        self.per_ip = per_ip
        self.open: set[GatewaySMTP] = set()
        #: Relays of complete messages still running (they outlive a lost client).
        self.relays: set[asyncio.Task[Reply]] = set()
        self._by_ip: dict[str, int] = {}

    def admit(self, protocol: GatewaySMTP, ip: str | None, *, trusted: bool = False) -> str | None:
        """Register the connection, or say why it is refused. A trusted relay (Postfix in
        front) carries every client's connections, so only the total limit applies to it."""
        if len(self.open) >= self.total:
            return "total"
        key = ip or "?"
        if not trusted and self._by_ip.get(key, 0) >= self.per_ip:
            return "per_ip"
        self.open.add(protocol)
        self._by_ip[key] = self._by_ip.get(key, 0) + 1
        return None

    def leave(self, protocol: GatewaySMTP, ip: str | None) -> None:
        if protocol in self.open:
            self.open.discard(protocol)
            key = ip or "?"
            self._by_ip[key] -= 1
            if not self._by_ip[key]:
                del self._by_ip[key]
