"""Every condition a rule may use, registered by the key that names it in `when:`/`unless:`."""

from __future__ import annotations

from gateway.policy.conditions.authentication import AUTH_CONDITIONS
from gateway.policy.conditions.base import Registry
from gateway.policy.conditions.documents import DOCUMENT_CONDITIONS
from gateway.policy.conditions.envelope import ENVELOPE_CONDITIONS
from gateway.policy.conditions.headers import HEADER_CONDITIONS
from gateway.policy.conditions.message import MESSAGE_CONDITIONS
from gateway.policy.conditions.signatures import SIGNATURE_CONDITIONS


def default_registry() -> Registry:
    """A fresh registry with every built-in condition."""
    return Registry(
        (
            *ENVELOPE_CONDITIONS,
            *HEADER_CONDITIONS,
            *MESSAGE_CONDITIONS,
            *DOCUMENT_CONDITIONS,
            *SIGNATURE_CONDITIONS,
            *AUTH_CONDITIONS,
        )
    )
