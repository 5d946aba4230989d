"""Conditions on the whole message: size, classification markings, what could not be inspected."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import Field, model_validator

from gateway.analysis.model import Classification
from gateway.policy.conditions.base import (
    ConditionType,
    Facts,
    FlagSpec,
    Match,
    Resolver,
    Spec,
    Stage,
)
from gateway.policy.wording import (
    Evidence,
    describe,
    joined,
    level_vi,
    place_vi,
    uninspectable_vi,
)


class SizeSpec(Spec):
    """`size: {over: 26214400}` and/or `{under: 1000}`, in bytes."""

    over: int | None = Field(default=None, ge=0)
    under: int | None = Field(default=None, ge=0)

    @model_validator(mode="after")
    def _something(self) -> SizeSpec:
        if self.over is None and self.under is None:
            raise ValueError("give over and/or under (bytes)")
        return self


@dataclass(frozen=True, slots=True)
class SizeCondition:
    """Holds when the message size (bytes of DATA) is above `over` and below `under`."""

    over: int | None
    under: int | None
    stage: Stage = Stage.MESSAGE
    needs: frozenset[str] = frozenset({"size"})

    def test(self, facts: Facts) -> Match | None:
        size = facts.need_analysis().size
        if self.over is not None and size <= self.over:
            return None
        if self.under is not None and size >= self.under:
            return None
        return Match(Evidence(f"thư có kích thước {size} byte", f"message size {size} bytes"))


def _build_size(spec: SizeSpec, resolver: Resolver, loc: tuple[Any, ...]) -> SizeCondition:
    return SizeCondition(spec.over, spec.under)


class ClassificationSpec(Spec):
    """`classification: {at_least: mat}`: a marking of this degree or higher anywhere."""

    at_least: Literal["mat", "toi_mat", "tuyet_mat"]


@dataclass(frozen=True, slots=True)
class ClassificationCondition:
    """Holds when the highest marking found reaches `at_least`; cites the stamps and places."""

    at_least: Classification
    type_names: Mapping[str, str] = field(default_factory=dict)
    stage: Stage = Stage.MESSAGE
    needs: frozenset[str] = frozenset({"classification", "markings", "documents.classification"})

    def test(self, facts: Facts) -> Match | None:
        analysis = facts.need_analysis()
        level = analysis.classification  # the whole message's, its documents' included
        if level is None or level.rank < self.at_least.rank:
            return None
        found = [m for m in analysis.markings if m.level is not None]
        places = dict.fromkeys(f"{m.stamp} in {m.where}" for m in found)
        places_vi = dict.fromkeys(f"dấu «{m.stamp}» ở {place_vi(m.where)}" for m in found)
        documents = tuple(describe(d, self.type_names) for d in analysis.documents
                          if d.classification)
        where = f" ({'; '.join(places)})" if places else ""
        where_vi = f": {'; '.join(places_vi)}" if places_vi else ""
        return Match(Evidence(f"mức {level_vi(level.value)}{where_vi}",
                              f"classified {level.value}{where}"), documents=documents)


def _build_classification(
    spec: ClassificationSpec, resolver: Resolver, loc: tuple[Any, ...]
) -> ClassificationCondition:
    return ClassificationCondition(Classification(spec.at_least), resolver.type_names())


@dataclass(frozen=True, slots=True)
class UninspectableCondition:
    """Holds when the message or any document could not be inspected (encrypted, too big, …)."""

    expected: bool
    type_names: Mapping[str, str] = field(default_factory=dict)
    stage: Stage = Stage.MESSAGE
    needs: frozenset[str] = frozenset({"uninspectable", "documents.uninspectable"})

    def test(self, facts: Facts) -> Match | None:
        analysis = facts.need_analysis()
        found: list[Evidence] = []
        if analysis.uninspectable:  # the one list; its documents are named by their type
            found = [Evidence(f"{named.vi}: {uninspectable_vi(d.uninspectable)}",
                              f"{named.en}: {d.uninspectable}")
                     for d in analysis.documents if d.uninspectable is not None
                     for named in (describe(d, self.type_names),)]
            found = found or [Evidence(f"thư: {uninspectable_vi(reason)}", reason)
                              for reason in analysis.uninspectable]
        if bool(found) != self.expected:
            return None
        if not found:
            return Match(Evidence("mọi nội dung đều đã được kiểm tra", "everything inspected"))
        said = joined(dict.fromkeys(found))
        return Match(Evidence(f"không kiểm tra được: {said.vi}", f"uninspectable: {said.en}"))


def _build_uninspectable(
    spec: FlagSpec, resolver: Resolver, loc: tuple[Any, ...]
) -> UninspectableCondition:
    return UninspectableCondition(spec.root, resolver.type_names())


MESSAGE_CONDITIONS = (
    ConditionType("size", SizeSpec, _build_size, "message size in bytes"),
    ConditionType(
        "classification", ClassificationSpec, _build_classification, "MẬT / TỐI MẬT / TUYỆT MẬT"
    ),
    ConditionType(
        "uninspectable", FlagSpec, _build_uninspectable, "encrypted or unreadable parts"
    ),
)
