"""What every condition is: a small object that tests `Facts` and says why it holds.

A condition type is registered under the key that names it in a rule's
`when:`/`unless:` mapping, with a pydantic model for its parameters and a
builder that compiles those parameters (resolving list names through the
`Resolver`) into a `Condition`. New conditions plug in by registering a
`ConditionType`; nothing else changes.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from enum import IntEnum
from functools import lru_cache
from typing import Annotated, Any, Protocol

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, RootModel, ValidationError

from gateway.analysis.model import Analysis
from gateway.analysis.settings import DocumentTypeSpec
from gateway.auth.results import Authentication
from gateway.mail.addresses import MailAddress
from gateway.mail.envelope import Direction
from gateway.policy.lists import AddressList, IPAddress, NetworkList
from gateway.policy.lookalike import LookalikeDetector
from gateway.policy.settings import PolicySettings
from gateway.policy.wording import Evidence
from gateway.problems import suggestion
from gateway.yamlsource import YamlDocument


class FlagSpec(RootModel[bool]):
    """A condition that takes `true` or `false` (`uninspectable: true`)."""

    model_config = {"strict": True}


class Stage(IntEnum):
    """The earliest SMTP step at which a condition can be decided."""

    SENDER = 1
    RECIPIENT = 2
    MESSAGE = 3


@dataclass(frozen=True, slots=True)
class Facts:
    """What the conditions look at; `analysis` is None before DATA.

    `sender` is None when the envelope sender could not be parsed; each
    recipient is kept as (text as given, parsed address or None).
    """

    direction: Direction
    client_ip: IPAddress | None
    sender: MailAddress | None
    recipients: tuple[tuple[str, MailAddress | None], ...] = ()
    analysis: Analysis | None = None
    authentication: Authentication | None = None

    def need_analysis(self) -> Analysis:
        """The analysis; a condition asking before DATA is a programming error."""
        if self.analysis is None:
            raise RuntimeError("message-level condition evaluated before DATA")
        return self.analysis


@dataclass(frozen=True, slots=True)
class Match:
    """Why a condition holds, in both languages, and what it found (offending
    recipients; documents, each named in both languages)."""

    evidence: Evidence = field(default_factory=Evidence)
    recipients: tuple[str, ...] = ()
    documents: tuple[Evidence, ...] = ()


class Condition(Protocol):
    """A compiled condition."""

    @property
    def stage(self) -> Stage: ...

    @property
    def needs(self) -> frozenset[str]:
        """The facts it reads (`envelope.mail_from`, `documents.signature`, ...)."""
        ...

    def test(self, facts: Facts) -> Match | None:
        """A `Match` when the condition holds, None when it does not."""
        ...


class Spec(BaseModel):
    """Base of every parameter model: unknown keys and coercions are errors."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True, populate_by_name=True)


#: A policy's regexes see at most this much of a value: a long header or display name
#: must not make a pattern with `.*` between two words cost quadratic time.
MATCHED_CHARS = 4096


@lru_cache(maxsize=1024)
def compile_regex(pattern: str) -> re.Pattern[str]:
    """Regexes in policies match case-insensitively."""
    return re.compile(pattern, re.IGNORECASE)


def searches(pattern: re.Pattern[str], text: str) -> bool:
    """Whether `pattern` occurs in the first MATCHED_CHARS characters of `text`."""
    return pattern.search(text[:MATCHED_CHARS]) is not None


def _valid_regex(pattern: str) -> str:
    try:
        compile_regex(pattern)
    except re.error as exc:
        raise ValueError(f"invalid regular expression: {exc}") from exc
    return pattern


Regex = Annotated[str, AfterValidator(_valid_regex)]
Name = Annotated[str, Field(min_length=1)]
#: One name or a list of them; never empty (`not_in: []` would hold for every address).
Names = Name | Annotated[list[Name], Field(min_length=1)]


def names(value: Names) -> list[str]:
    """A name or a list of names, as a list."""
    return [value] if isinstance(value, str) else list(value)


Builder = Callable[[Any, "Resolver", tuple[str | int, ...]], Condition]


@dataclass(frozen=True, slots=True)
class ConditionType:
    """A registered condition: its key, parameter model and builder."""

    name: str
    spec: type[BaseModel]
    build: Builder
    summary: str


class Registry:
    """The condition types a policy may use, by key."""

    def __init__(self, types: Iterable[ConditionType] = ()) -> None:
        self._types: dict[str, ConditionType] = {}
        for condition_type in types:
            self.register(condition_type)

    def register(self, condition_type: ConditionType) -> None:
        if condition_type.name in self._types:
            raise ValueError(f"condition '{condition_type.name}' registered twice")
        self._types[condition_type.name] = condition_type

    def get(self, name: str) -> ConditionType | None:
        return self._types.get(name)

    def names(self) -> list[str]:
        return sorted(self._types)


@dataclass(slots=True)
class Resolver:
    """Resolves names used by rules and collects every problem with its position."""

    lists: Mapping[str, AddressList]
    networks: Mapping[str, NetworkList]
    document_types: Mapping[str, DocumentTypeSpec]
    settings: PolicySettings
    registry: Registry
    document: YamlDocument
    errors: list[str] = field(default_factory=list)
    detectors: dict[str, LookalikeDetector] = field(default_factory=dict)

    def error(self, loc: tuple[Any, ...], message: str) -> None:
        self.errors.append(self.document.error(loc, message))

    def validation_error(self, loc: tuple[Any, ...], error: ValidationError,
                         model: type[BaseModel] | None = None) -> None:
        self.errors.extend(self.document.validation_errors(error, loc, model))

    def address_lists(self, value: Names, loc: tuple[Any, ...]) -> tuple[AddressList, ...]:
        found = []
        for index, name in enumerate(names(value)):
            if name in self.lists:
                found.append(self.lists[name])
            else:
                where = loc if isinstance(value, str) else (*loc, index)
                self.error(where, f"unknown list '{name}' (defined: {_known(self.lists)})")
        return tuple(found)

    def network_lists(self, value: Names, loc: tuple[Any, ...]) -> tuple[NetworkList, ...]:
        found = []
        for index, name in enumerate(names(value)):
            if name in self.networks:
                found.append(self.networks[name])
            else:
                where = loc if isinstance(value, str) else (*loc, index)
                self.error(
                    where, f"unknown network list '{name}' (defined: {_known(self.networks)})"
                )
        return tuple(found)

    def doc_types(self, value: Names, loc: tuple[Any, ...]) -> frozenset[str]:
        found = set()
        for index, name in enumerate(names(value)):
            if name in self.document_types or name == "other":
                found.add(name)
            else:
                where = loc if isinstance(value, str) else (*loc, index)
                known = _known(self.document_types)
                self.error(where, f"unknown document type '{name}' (defined: {known})")
        return frozenset(found)

    def type_names(self) -> dict[str, str]:
        """Each document type id's Vietnamese name, for evidence in Vietnamese."""
        return {type_id: spec.name for type_id, spec in self.document_types.items()}

    def designated_types(self) -> frozenset[str]:
        return frozenset(i for i, spec in self.document_types.items() if spec.designated)

    def detector(self, list_name: str, loc: tuple[Any, ...]) -> LookalikeDetector:
        """A look-alike detector for the domains of `list_name` (built once per list)."""
        if list_name not in self.detectors:
            official = self.address_lists(list_name, loc)
            exempt_name = self.settings.lookalike_exempt_list
            exempt = self.lists.get(exempt_name) if exempt_name else None
            self.detectors[list_name] = LookalikeDetector(
                (d for source in official for d in source.domains),
                exempt.domains if exempt is not None else (),
            )
        return self.detectors[list_name]

    def conditions(self, mapping: object, loc: tuple[Any, ...]) -> tuple[Condition, ...]:
        """Compile a `when:`/`unless:` mapping; problems are recorded, not raised."""
        if not isinstance(mapping, dict):
            self.error(loc, "expected a mapping of conditions")
            return ()
        compiled = []
        for name, params in mapping.items():
            condition = self.condition(str(name), params, (*loc, name))
            if condition is not None:
                compiled.append(condition)
        return tuple(compiled)

    def condition(self, name: str, params: object, loc: tuple[Any, ...]) -> Condition | None:
        condition_type = self.registry.get(name)
        if condition_type is None:
            names = self.registry.names()
            self.error(loc, f"unknown condition '{name}'{suggestion(name, names)} "
                            f"(known: {', '.join(names)})")
            return None
        try:
            spec = condition_type.spec.model_validate(params)
        except ValidationError as exc:
            self.validation_error(loc, exc, condition_type.spec)
            return None
        return condition_type.build(spec, self, loc)


def _known(mapping: Mapping[str, object]) -> str:
    return ", ".join(sorted(mapping)) or "none"
