"""/readyz: policies and trust store loaded (as the workers report in the metrics), and the
upstream mail system answering."""

from __future__ import annotations

import os
import smtplib
from collections.abc import Callable
from dataclasses import dataclass

from prometheus_client import CollectorRegistry

from gateway.config import Settings, parse_hostport


@dataclass(frozen=True, slots=True)
class Check:
    name: str
    ok: bool
    detail: str


def _gauge(registry: CollectorRegistry, name: str) -> float:
    """The largest value of a gauge across workers; 0 when no worker has set it yet."""
    best = 0.0
    for family in registry.collect():
        for sample in family.samples:
            if sample.name == name:
                best = max(best, sample.value)
    return best


def upstream_check(settings: Settings, timeout: float = 5.0) -> Check:
    """An SMTP greeting and QUIT; for a maildir upstream, the folder (or its parent) is
    writable."""
    folder = settings.upstream.maildir
    if folder is not None:
        probe = folder if folder.exists() else folder.parent
        ok = os.access(probe if str(probe) else ".", os.W_OK)
        return Check("upstream", ok, f"maildir {folder} {'writable' if ok else 'not writable'}")
    host, port = parse_hostport(settings.upstream.address, 25)
    try:
        with smtplib.SMTP(host, port, timeout=min(timeout, settings.upstream.connect_timeout)):
            pass
    except (OSError, smtplib.SMTPException) as exc:
        return Check("upstream", False, f"{host}:{port} unreachable: {exc}")
    return Check("upstream", True, f"{host}:{port} answers")


def readiness(settings: Settings, registry: CollectorRegistry,
              upstream: Callable[[Settings], Check] = upstream_check) -> list[Check]:
    """Every readiness check, in the order they are reported."""
    policy = _gauge(registry, "tth_policy_generation")
    checks = [Check("policy", policy >= 1, f"generation {int(policy)}" if policy else
                    "not loaded")]
    if settings.trust.anchors is not None:
        trust = _gauge(registry, "tth_trust_generation")
        checks.append(Check("trust store", trust >= 1,
                            f"generation {int(trust)}" if trust else "not loaded"))
    checks.append(upstream(settings))
    return checks
