"""Compile one rule of the policy YAML into a `Rule`, reporting each problem at its position."""

from __future__ import annotations

import re
from typing import Any

from pydantic import ValidationError

from gateway.mail.addresses import parse_envelope_address
from gateway.policy.conditions.base import Condition, Resolver
from gateway.policy.rules import Rule, stage_of
from gateway.policy.schema import NOTIFY_WORDS, RuleSpec
from gateway.policy.settings import PolicySettings
from gateway.policy.verdict import Action, Mode

_HOST_ROUTE = re.compile(r"\Asmtp:(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+)(:\d{1,5})?\Z")


def route_problem(text: str) -> str | None:
    """Why `text` is no redirect entry (address, `smtp:HOST[:PORT]`, `maildir:DIR`), or None."""
    if text.startswith("smtp:"):
        return None if _HOST_ROUTE.match(text) else f"invalid route '{text}' (smtp:HOST[:PORT])"
    if text.startswith("maildir:"):
        return None if text.removeprefix("maildir:") else "maildir: needs a folder"
    return None if valid_address(text) else f"invalid address '{text}'"


def compile_rule(
    raw: Any, resolver: Resolver, loc: tuple[Any, ...], settings: PolicySettings
) -> Rule | None:
    try:
        spec = RuleSpec.model_validate(raw)
    except ValidationError as exc:
        resolver.validation_error(loc, exc, RuleSpec)
        return None
    when = resolver.conditions(spec.when, (*loc, "when"))
    unless = _unless(spec.unless, resolver, (*loc, "unless"))
    notify = _notify(spec.notify, resolver, (*loc, "notify"), settings)
    redirect = _redirect(spec, resolver, loc, settings)
    return Rule(
        name=spec.name,
        description=spec.description,
        when=when,
        unless=unless,
        action=Action(spec.action),
        mode=Mode(spec.mode),
        stop=spec.stop,
        status_code=spec.status_code,
        enhanced_status=spec.enhanced_status,
        message_vi=spec.message_vi,
        message_en=spec.message_en,
        notify=notify,
        redirect_to=redirect,
        headers=tuple(spec.headers.items()),
        origin=str(resolver.document.position(loc)),
        stage=stage_of(when, unless),
    )


def _unless(
    value: dict[str, Any] | list[dict[str, Any]] | None, resolver: Resolver, loc: tuple[Any, ...]
) -> tuple[tuple[Condition, ...], ...]:
    if value is None:
        return ()
    groups = (
        [(loc, value)] if isinstance(value, dict) else [((*loc, i), g) for i, g in enumerate(value)]
    )
    compiled = []
    for where, group in groups:
        if not group:
            resolver.error(where, "an exception needs at least one condition")
            continue
        compiled.append(resolver.conditions(group, where))
    return tuple(compiled)


def _notify(
    targets: list[str], resolver: Resolver, loc: tuple[Any, ...], settings: PolicySettings
) -> tuple[str, ...]:
    for index, target in enumerate(targets):
        if target == "security_officer" and settings.security_officer is None:
            message = "notify security_officer: settings.security_officer is not set"
            resolver.error((*loc, index), message)
        elif target not in NOTIFY_WORDS and valid_address(target) is None:
            words = ", ".join(sorted(NOTIFY_WORDS))
            resolver.error((*loc, index), f"notify '{target}': not an address nor one of {words}")
    return tuple(targets)


def _redirect(
    spec: RuleSpec, resolver: Resolver, loc: tuple[Any, ...], settings: PolicySettings
) -> tuple[str, ...]:
    if spec.action != "redirect":
        return ()
    given = spec.redirect_to or []
    for index, text in enumerate(given):
        problem = route_problem(text)
        if problem is not None:
            resolver.error((*loc, "redirect_to", index), problem)
    if not given and not settings.redirect_to:
        resolver.error((*loc, "action"), "redirect needs redirect_to here or in settings")
    return tuple(given)


def valid_address(text: str) -> str | None:
    address = parse_envelope_address(text)
    return None if address is None or address.is_null else str(address)
