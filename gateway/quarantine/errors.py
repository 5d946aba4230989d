"""What can go wrong with a quarantine operation, whatever the backend."""

from __future__ import annotations


class QuarantineError(Exception):
    """A quarantine operation cannot be done; the message says why."""


class InvalidHeldId(QuarantineError):
    """The string is not a quarantine id."""


class HeldNotFound(QuarantineError):
    """No held message has this id."""


class HeldStateError(QuarantineError):
    """The held message is not in a state that allows the operation."""


class HeldBusy(HeldStateError):
    """Another command (on this host or another gateway) is working on this message now."""


class StoreUnavailable(QuarantineError):
    """The store cannot be reached or written now (e.g. the database is down): try later."""


class StoreNotWritable(QuarantineError):
    """The one acting may read the store but not change it (file or folder permissions)."""
