"""What aiosmtpd does per process or per connection that the gateway adjusts: its log
line per unknown command kept quiet, and the member lists it builds for every connection
computed once per class."""

from __future__ import annotations

import logging


class QuietUnknownCommands(logging.Filter):
    """aiosmtpd logs a WARNING per unknown command, so a client decides the log volume;
    those lines are kept only when aiosmtpd's logger is set to DEBUG."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.msg == "%r unrecognised: %s":
            return logging.getLogger(record.name).isEnabledFor(logging.DEBUG)
        return True


logging.getLogger("mail.log").addFilter(QuietUnknownCommands())


_MEMBERS: dict[tuple[type, tuple[str, ...]], list[str]] = {}


def members_named(cls: type, prefixes: tuple[str, ...]) -> list[str]:
    """The names of `cls`'s attributes that start with one of `prefixes`, listed once."""
    key = (cls, prefixes)
    if key not in _MEMBERS:
        _MEMBERS[key] = [name for name in dir(cls) if name.startswith(prefixes)]
    return _MEMBERS[key]
