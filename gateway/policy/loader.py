"""Load a policy directory into one immutable `Policy`, or report every error with its position.

Every `*.yaml` file of the directory is read in name order into one
namespace (see `gateway.policy.schema` for the top-level keys). Nothing is
half-loaded: either the whole policy compiles, or `PolicyError` lists every
problem as `file:line:column: message`.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from types import MappingProxyType
from typing import Any

from pydantic import BaseModel, ValidationError

from gateway.analysis.settings import AnalysisSettings, DocumentTypeSpec
from gateway.policy.compile_rule import compile_rule
from gateway.policy.compile_settings import (
    address_list,
    agency_organizations,
    compile_settings,
    network_list,
)
from gateway.policy.conditions import default_registry
from gateway.policy.conditions.base import Registry, Resolver, Stage
from gateway.policy.lists import AddressList, NetworkList
from gateway.policy.lookalike import LookalikeDetector
from gateway.policy.rules import Rule
from gateway.policy.schema import (
    ListSpec,
    NetworkListSpec,
    SettingsSpec,
)
from gateway.policy.settings import PolicySettings
from gateway.policy.typed import validate_typed
from gateway.signatures.settings import SignatureSettings
from gateway.yamlsource import YamlDocument, YamlSourceError, parse_yaml, read_regular

ANALYSIS_KEYS = frozenset(f.name for f in fields(AnalysisSettings))
MERGED_KEYS = frozenset({"lists", "networks", "rules"})
SINGLE_KEYS = frozenset({"settings", "signatures"}) | ANALYSIS_KEYS
TOP_KEYS = MERGED_KEYS | SINGLE_KEYS


class PolicyError(Exception):
    """A policy that cannot be used; `errors` holds every `file:line:column: message`."""

    def __init__(self, errors: list[str]) -> None:
        super().__init__("\n".join(errors))
        self.errors = errors


@dataclass(frozen=True, slots=True)
class Generation:
    """Which files made this policy, and the SHA-256 of their names and contents."""

    files: tuple[str, ...]
    sha256: str

    @property
    def short(self) -> str:
        return self.sha256[:12]


@dataclass(frozen=True, slots=True)
class Policy:
    """A loaded policy: read-only lists, compiled rules and the settings of every part.

    `sender_rules` / `recipient_rules` are the envelope rules tried at MAIL /
    RCPT, `message_rules` the rest, tried after DATA (see `gateway.policy.engine`).
    """

    lists: Mapping[str, AddressList]
    networks: Mapping[str, NetworkList]
    rules: tuple[Rule, ...]
    analysis_settings: AnalysisSettings
    signature_settings: SignatureSettings
    settings: PolicySettings
    generation: Generation
    lookalike: LookalikeDetector
    sender_rules: tuple[Rule, ...] = ()
    recipient_rules: tuple[Rule, ...] = ()
    message_rules: tuple[Rule, ...] = ()

    @property
    def official(self) -> AddressList:
        return self.lists[self.settings.official_list]

    @property
    def local_domains(self) -> AddressList:
        return self.lists[self.settings.local_domains]

    @property
    def internal_networks(self) -> NetworkList:
        return self.networks[self.settings.internal_networks]


def load_policy(directory: Path, registry: Registry | None = None) -> Policy:
    """Read every `*.yaml` of `directory`; raise `PolicyError` with every problem."""
    return load_sources(_read_directory(directory), registry)


def warnings(directory: Path, policy: Policy) -> list[str]:
    """What the valid `policy` read from `directory` may not mean to say: files left
    unread (a `.yml` or upper-case `.YAML`), and no rule at all (every message accepted)."""
    found = [f"{path}: not read: policy files end in .yaml"
             for path in sorted(directory.iterdir())
             if path.suffix.lower() in (".yml", ".yaml") and path.suffix != ".yaml"
             and not path.name.startswith(".")]
    if not policy.rules:
        found.append(f"{directory}: no rules: every message is accepted and relayed")
    return found


def load_sources(sources: Iterable[tuple[str, str]], registry: Registry | None = None) -> Policy:
    """Compile a policy from (file name, text) pairs, in the order given."""
    sources = list(sources)
    builder = _Builder(registry or default_registry())
    for name, text in sources:
        builder.add(name, text)
    policy = builder.build(_generation(sources))
    if builder.errors or policy is None:
        raise PolicyError(builder.errors or ["policy: nothing loaded"])
    return policy


def _read_directory(directory: Path) -> list[tuple[str, str]]:
    if not directory.is_dir():
        raise PolicyError([f"{directory}:1:1: not a directory"])
    # Hidden names are an editor's or a copy's (Emacs lock `.#rules.yaml`, macOS `._x.yaml`).
    paths = sorted(path for path in directory.glob("*.yaml") if not path.name.startswith("."))
    if not paths:
        raise PolicyError([f"{directory}:1:1: no policy files (*.yaml)"])
    sources, errors = [], []
    for path in paths:
        try:
            sources.append((str(path), read_regular(path).decode("utf-8")))
        except (OSError, UnicodeDecodeError) as exc:
            errors.append(f"{path}:1:1: cannot read: {exc}")
    if errors:
        raise PolicyError(errors)
    return sources


def _generation(sources: list[tuple[str, str]]) -> Generation:
    digest = hashlib.sha256()
    for name, text in sources:
        digest.update(Path(name).name.encode() + b"\0" + text.encode() + b"\0")
    return Generation(tuple(name for name, _ in sources), digest.hexdigest())


@dataclass(frozen=True, slots=True)
class _Section:
    document: YamlDocument
    key: str
    value: Any


def _problems(document: YamlDocument, loc: tuple[Any, ...], exc: ValidationError,
              model: type[BaseModel]) -> list[str]:
    return document.validation_errors(exc, loc, model)


@dataclass(slots=True)
class _Builder:
    """Collects sections from every file, then compiles them; errors accumulate."""

    registry: Registry
    errors: list[str] = field(default_factory=list)
    singles: dict[str, _Section] = field(default_factory=dict)
    lists: dict[str, AddressList] = field(default_factory=dict)
    networks: dict[str, NetworkList] = field(default_factory=dict)
    rule_sections: list[_Section] = field(default_factory=list)
    first: YamlDocument | None = None

    def add(self, name: str, text: str) -> None:
        try:
            document = parse_yaml(text, name)
        except YamlSourceError as exc:
            self.errors.extend(exc.errors)
            return
        self.first = self.first or document
        if document.data is None:
            return
        if not isinstance(document.data, dict):
            self.errors.append(document.error((), "a policy file must be a mapping of sections"))
            return
        for key, value in document.data.items():
            self._section(_Section(document, str(key), value))

    def _section(self, section: _Section) -> None:
        document, key = section.document, section.key
        if key not in TOP_KEYS:
            known = ", ".join(sorted(TOP_KEYS))
            self.errors.append(document.error((key,), f"unknown section '{key}' (known: {known})"))
        elif key in SINGLE_KEYS:
            if key in self.singles:
                earlier = self.singles[key].document.position((key,))
                self.errors.append(document.error((key,), f"'{key}' already defined at {earlier}"))
            else:
                self.singles[key] = section
        elif key == "rules":
            self.rule_sections.append(section)
        elif not isinstance(section.value, dict):
            self.errors.append(document.error((key,), f"'{key}' must be a mapping of named lists"))
        else:
            for list_name, spec in section.value.items():
                self._named_list(document, key, str(list_name), spec)

    def _named_list(self, document: YamlDocument, key: str, name: str, spec: Any) -> None:
        loc = (key, name)
        if name in self.lists or name in self.networks:
            self.errors.append(document.error(loc, f"list '{name}' defined twice"))
            return
        try:
            if key == "lists":
                self.lists[name] = address_list(
                    name, ListSpec.model_validate(spec), document, loc, self.errors
                )
            else:
                self.networks[name] = network_list(
                    name, NetworkListSpec.model_validate(spec), document, loc, self.errors
                )
        except ValidationError as exc:
            model = ListSpec if key == "lists" else NetworkListSpec
            self.errors.extend(_problems(document, loc, exc, model))
            # Known by name, empty: its error is reported once, not again at every use
            # as an "unknown list" (the policy is refused all the same).
            if key == "lists":
                self.lists[name] = AddressList(name)
            else:
                self.networks[name] = NetworkList(name)

    def build(self, generation: Generation) -> Policy | None:
        if self.first is None:
            return None
        analysis = self._analysis_settings()
        signatures = self._typed("signatures", SignatureSettings)
        settings = self._settings(signatures)
        if analysis is None or signatures is None or settings is None:
            return None
        rules = self._rules(settings, {spec.id: spec for spec in analysis.document_types})
        if self.errors:
            return None
        official = self.lists[settings.official_list]
        exempt = self.lists.get(settings.lookalike_exempt_list or "")
        return Policy(
            MappingProxyType(dict(self.lists)),
            MappingProxyType(dict(self.networks)),
            rules,
            analysis,
            signatures,
            settings,
            generation,
            LookalikeDetector(official.domains, exempt.domains if exempt else ()),
            sender_rules=tuple(r for r in rules if r.at_envelope and r.stage is Stage.SENDER),
            recipient_rules=tuple(r for r in rules if r.at_envelope and r.stage is Stage.RECIPIENT),
            message_rules=tuple(r for r in rules if not r.at_envelope),
        )

    def _analysis_settings(self) -> AnalysisSettings | None:
        given = {key: self.singles[key] for key in ANALYSIS_KEYS if key in self.singles}
        value, problems = validate_typed(AnalysisSettings, {k: s.value for k, s in given.items()})
        for loc, message in problems:
            section = given[str(loc[0])] if loc else next(iter(given.values()))
            self.errors.append(section.document.error(loc, message))
        return value if isinstance(value, AnalysisSettings) else None

    def _typed(self, key: str, tp: type[BaseModel]) -> Any:
        section = self.singles.get(key)
        value, problems = validate_typed(tp, section.value if section else {})
        for loc, message in problems:
            assert section is not None
            self.errors.append(section.document.error((key, *loc), f"{key}: {message}"))
        return value

    def _settings(self, signatures: SignatureSettings | None) -> PolicySettings | None:
        section = self.singles.get("settings")
        document = section.document if section else self.first
        assert document is not None
        try:
            spec = SettingsSpec.model_validate(section.value if section else {})
        except ValidationError as exc:
            self.errors.extend(_problems(document, ("settings",), exc, SettingsSpec))
            return None
        agencies = signatures.agency_organisations if signatures is not None else {}
        compiled = compile_settings(spec, document, self.lists, self.networks, self.errors)
        return dataclasses.replace(compiled, agency_organizations=agency_organizations(agencies))

    def _rules(
        self, settings: PolicySettings, document_types: Mapping[str, DocumentTypeSpec]
    ) -> tuple[Rule, ...]:
        compiled: list[Rule] = []
        seen: dict[str, str] = {}
        detectors: dict[str, LookalikeDetector] = {}
        for section in self.rule_sections:
            document = section.document
            if not isinstance(section.value, list):
                self.errors.append(document.error(("rules",), "'rules' must be a list of rules"))
                continue
            resolver = Resolver(
                self.lists, self.networks, document_types, settings, self.registry, document
            )
            resolver.detectors = detectors
            for index, raw in enumerate(section.value):
                rule = compile_rule(raw, resolver, ("rules", index), settings)
                if rule is None:
                    continue
                if rule.name in seen:
                    resolver.error(
                        ("rules", index, "name"),
                        f"duplicate rule name '{rule.name}' (first at {seen[rule.name]})",
                    )
                seen.setdefault(rule.name, rule.origin)
                compiled.append(rule)
            self.errors.extend(resolver.errors)
        return tuple(compiled)
