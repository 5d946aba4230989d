"""Conditions on the envelope: direction, client network, sender, recipients."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from pydantic import Field, RootModel, model_validator

from gateway.mail.envelope import Direction
from gateway.policy.conditions.addressing import AddressMatcher, AddressTest, labels_vi
from gateway.policy.conditions.base import (
    ConditionType,
    Facts,
    Match,
    Names,
    Resolver,
    Spec,
    Stage,
)
from gateway.policy.lists import NetworkList
from gateway.policy.wording import DIRECTION_VI, Evidence

DirectionName = Literal["inbound", "outbound", "internal"]
_FROM_INSIDE = frozenset({Direction.OUTBOUND, Direction.INTERNAL})


class DirectionSpec(RootModel[DirectionName | list[DirectionName]]):
    """`direction: outbound` or `direction: [outbound, internal]`."""

    model_config = {"strict": True}


@dataclass(frozen=True, slots=True)
class DirectionCondition:
    """Holds when the message goes one of the given ways.

    Outbound and internal differ only by the recipients, so a set that tells
    them apart is decided at RCPT time; one that does not, at MAIL time.
    """

    directions: frozenset[Direction]
    needs: frozenset[str] = frozenset({"direction"})

    @property
    def stage(self) -> Stage:
        return Stage.RECIPIENT if len(self.directions & _FROM_INSIDE) == 1 else Stage.SENDER

    def test(self, facts: Facts) -> Match | None:
        if facts.direction not in self.directions:
            return None
        way = facts.direction.value
        return Match(Evidence(DIRECTION_VI[way], f"direction {way}"))


def _build_direction(
    spec: DirectionSpec, resolver: Resolver, loc: tuple[Any, ...]
) -> DirectionCondition:
    values = [spec.root] if isinstance(spec.root, str) else spec.root
    return DirectionCondition(frozenset(Direction(value) for value in values))


class NetworkSpec(Spec):
    """`client_network: {in: internal_networks}` or `{not_in: ...}`."""

    in_: Names | None = Field(default=None, alias="in")
    not_in: Names | None = None

    @model_validator(mode="after")
    def _one(self) -> NetworkSpec:
        if (self.in_ is None) == (self.not_in is None):
            raise ValueError("give exactly one of in, not_in")
        return self


@dataclass(frozen=True, slots=True)
class NetworkCondition:
    """Holds when the client address is (or is not) in the named networks; unknown is outside."""

    lists: tuple[NetworkList, ...]
    inside: bool
    stage: Stage = Stage.SENDER
    needs: frozenset[str] = frozenset({"envelope.client_ip"})

    def test(self, facts: Facts) -> Match | None:
        hits = [item for item in self.lists if item.has(facts.client_ip)]
        if bool(hits) != self.inside:
            return None
        where_vi = f"thuộc {labels_vi(hits)}" if hits else f"ngoài {labels_vi(self.lists)}"
        where = f"in {', '.join(i.name for i in hits)}" if hits else (
            "outside " + ", ".join(i.name for i in self.lists))
        return Match(Evidence(f"máy gửi {facts.client_ip or 'không rõ địa chỉ'} {where_vi}",
                              f"client {facts.client_ip or 'unknown'} {where}"))


def _build_network(spec: NetworkSpec, resolver: Resolver, loc: tuple[Any, ...]) -> NetworkCondition:
    if spec.in_ is not None:
        return NetworkCondition(resolver.network_lists(spec.in_, (*loc, "in")), inside=True)
    assert spec.not_in is not None
    return NetworkCondition(resolver.network_lists(spec.not_in, (*loc, "not_in")), inside=False)


@dataclass(frozen=True, slots=True)
class SenderCondition:
    """Tests the envelope sender (MAIL FROM)."""

    matcher: AddressMatcher
    stage: Stage = Stage.SENDER
    needs: frozenset[str] = frozenset({"envelope.mail_from"})

    def test(self, facts: Facts) -> Match | None:
        found = self.matcher.test(facts.sender)
        if found is None:
            return None
        return Match(Evidence(f"người gửi (MAIL FROM): {found.vi}",
                              f"envelope sender: {found.en}"))


def _build_sender(spec: AddressTest, resolver: Resolver, loc: tuple[Any, ...]) -> SenderCondition:
    return SenderCondition(AddressMatcher.build(spec, resolver, loc))


class RecipientsSpec(AddressTest):
    """An address test applied to each recipient; `quantifier: any` (default) or `all`."""

    quantifier: Literal["any", "all"] = "any"


@dataclass(frozen=True, slots=True)
class RecipientsCondition:
    """Holds when any (or all) recipients pass the test; reports those that do.

    `any` is decided per recipient at RCPT time (only the offending recipients
    are refused); `all` needs the whole list and waits for the message.
    """

    matcher: AddressMatcher
    every: bool
    needs: frozenset[str] = frozenset({"envelope.rcpt_tos"})

    @property
    def stage(self) -> Stage:
        return Stage.MESSAGE if self.every else Stage.RECIPIENT

    def test(self, facts: Facts) -> Match | None:
        found = [(text, self.matcher.test(address)) for text, address in facts.recipients]
        hits = [(text, evidence) for text, evidence in found if evidence is not None]
        if not hits or (self.every and len(hits) != len(found)):
            return None
        vi = "; ".join(f"{text}: {why.vi}" for text, why in hits)
        en = "; ".join(f"{text}: {why.en}" for text, why in hits)
        return Match(Evidence(f"người nhận {vi}", f"recipients {en}"),
                     recipients=tuple(text for text, _ in hits))


def _build_recipients(
    spec: RecipientsSpec, resolver: Resolver, loc: tuple[Any, ...]
) -> RecipientsCondition:
    return RecipientsCondition(AddressMatcher.build(spec, resolver, loc), spec.quantifier == "all")


ENVELOPE_CONDITIONS = (
    ConditionType("direction", DirectionSpec, _build_direction, "inbound / outbound / internal"),
    ConditionType(
        "client_network", NetworkSpec, _build_network, "client address in named networks"
    ),
    ConditionType("sender", AddressTest, _build_sender, "envelope sender (MAIL FROM)"),
    ConditionType("recipients", RecipientsSpec, _build_recipients, "envelope recipients"),
)
