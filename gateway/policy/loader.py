"""Load a policy directory into one immutable `Policy`, or report every error with its position.

Every `*.yaml` file of the directory is read in name order into one
namespace (see `gateway.policy.schema` for the top-level keys). Nothing is
half-loaded: either the whole policy compiles, or `PolicyError` lists every
problem as `file:line:column: message`.
"""

from __future__ import annotations

import dataclasses
import hashlib
import ipaddress
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from types import MappingProxyType
from typing import Any

from pydantic import BaseModel, ValidationError

from gateway.analysis.settings import AnalysisSettings, DocumentTypeSpec
from gateway.mail.addresses import canonical_domain, parse_envelope_address
from gateway.policy.conditions import default_registry
from gateway.policy.conditions.base import Condition, Registry, Resolver, Stage
from gateway.policy.lists import AddressList, IPNetwork, NetworkList
from gateway.policy.lookalike import LookalikeDetector
from gateway.policy.rules import Rule, stage_of
from gateway.policy.schema import (
    NOTIFY_WORDS,
    ListSpec,
    NetworkListSpec,
    RuleSpec,
    SettingsSpec,
)
from gateway.policy.settings import DEFAULT_DIRECTIVE_EN, DEFAULT_DIRECTIVE_VI, PolicySettings
from gateway.policy.typed import validate_typed
from gateway.policy.verdict import Action, Mode
from gateway.signatures.settings import SignatureSettings
from gateway.yamlsource import YamlDocument, YamlSourceError, parse_yaml

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


def validate(directory: Path) -> list[str]:
    """Every problem of the policy in `directory` (`file:line:column: message`); [] when valid."""
    try:
        load_policy(directory)
    except PolicyError as exc:
        return exc.errors
    return []


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
    paths = sorted(directory.glob("*.yaml"))
    if not paths:
        raise PolicyError([f"{directory}:1:1: no policy files (*.yaml)"])
    sources, errors = [], []
    for path in paths:
        try:
            sources.append((str(path), path.read_text(encoding="utf-8")))
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
                self.lists[name] = _address_list(
                    name, ListSpec.model_validate(spec), document, loc, self.errors
                )
            else:
                self.networks[name] = _network_list(
                    name, NetworkListSpec.model_validate(spec), document, loc, self.errors
                )
        except ValidationError as exc:
            model = ListSpec if key == "lists" else NetworkListSpec
            self.errors.extend(_problems(document, loc, exc, model))

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
        compiled = _compile_settings(spec, document, self.lists, self.networks, self.errors)
        return dataclasses.replace(compiled, agency_organizations=_agencies(agencies))

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
                rule = _compile_rule(raw, resolver, ("rules", index), settings)
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


def _address_list(
    name: str, spec: ListSpec, document: YamlDocument, loc: tuple[Any, ...], errors: list[str]
) -> AddressList:
    domains = set()
    for index, text in enumerate(spec.domains):
        domain, valid = canonical_domain(text.strip().removeprefix("."))
        if not valid or "." not in domain:
            errors.append(document.error((*loc, "domains", index), f"invalid domain '{text}'"))
        domains.add(domain)
    addresses = set()
    for index, text in enumerate(spec.addresses):
        address = parse_envelope_address(text)
        if address is None or address.is_null:
            errors.append(document.error((*loc, "addresses", index), f"invalid address '{text}'"))
        else:
            addresses.add(address.key)
    return AddressList(name, frozenset(domains), frozenset(addresses), spec.subdomains,
                       spec.label_vi)


def _network_list(
    name: str,
    spec: NetworkListSpec,
    document: YamlDocument,
    loc: tuple[Any, ...],
    errors: list[str],
) -> NetworkList:
    networks: list[IPNetwork] = []
    for index, text in enumerate(spec.networks):
        try:
            networks.append(ipaddress.ip_network(text.strip(), strict=True))
        except ValueError as exc:
            errors.append(document.error((*loc, "networks", index), f"invalid CIDR: {exc}"))
    return NetworkList(name, tuple(networks), spec.label_vi)


def _compile_settings(
    spec: SettingsSpec,
    document: YamlDocument,
    lists: Mapping[str, AddressList],
    networks: Mapping[str, NetworkList],
    errors: list[str],
) -> PolicySettings:
    def need(key: str, name: str | None, known: Mapping[str, object], kind: str) -> None:
        if name is not None and name not in known:
            defined = ", ".join(sorted(known)) or "none"
            message = f"settings.{key}: unknown {kind} '{name}' (defined: {defined})"
            errors.append(document.error(("settings", key), message))

    for key in ("official_list", "freemail_list", "lookalike_exempt_list", "local_domains"):
        need(key, getattr(spec, key), lists, "list")
    need("internal_networks", spec.internal_networks, networks, "network list")
    return PolicySettings(
        official_list=spec.official_list,
        freemail_list=spec.freemail_list,
        lookalike_exempt_list=spec.lookalike_exempt_list,
        local_domains=spec.local_domains,
        internal_networks=spec.internal_networks,
        security_officer=_address(
            spec.security_officer, document, ("settings", "security_officer"), errors
        ),
        directive_vi=spec.directive_vi or DEFAULT_DIRECTIVE_VI,
        directive_en=spec.directive_en or DEFAULT_DIRECTIVE_EN,
        agency_name_patterns=tuple(re.compile(p, re.IGNORECASE) for p in spec.agency_names),
        result_header=spec.result_header,
        documents_header=spec.documents_header,
        redirect_to=_routes(spec.redirect_to, document, ("settings", "redirect_to"), errors),
        unanalysable=spec.unanalysable,
    )


def _agencies(mapping: Mapping[str, list[str]]) -> Mapping[str, tuple[str, ...]]:
    return MappingProxyType({canonical_domain(d)[0]: tuple(n) for d, n in mapping.items()})


def _address(
    text: str | None, document: YamlDocument, loc: tuple[Any, ...], errors: list[str]
) -> str | None:
    if text is None:
        return None
    address = parse_envelope_address(text)
    if address is None or address.is_null:
        errors.append(document.error(loc, f"invalid address '{text}'"))
        return None
    return str(address)


_HOST_ROUTE = re.compile(r"\Asmtp:(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+)(:\d{1,5})?\Z")


def _route_problem(text: str) -> str | None:
    """Why `text` is no redirect entry (address, `smtp:HOST[:PORT]`, `maildir:DIR`), or None."""
    if text.startswith("smtp:"):
        return None if _HOST_ROUTE.match(text) else f"invalid route '{text}' (smtp:HOST[:PORT])"
    if text.startswith("maildir:"):
        return None if text.removeprefix("maildir:") else "maildir: needs a folder"
    return None if _valid_address(text) else f"invalid address '{text}'"


def _routes(
    texts: list[str], document: YamlDocument, loc: tuple[Any, ...], errors: list[str]
) -> tuple[str, ...]:
    problems = [(i, _route_problem(text)) for i, text in enumerate(texts)]
    errors.extend(document.error((*loc, i), problem) for i, problem in problems if problem)
    if sum(1 for text in texts if text.startswith(("smtp:", "maildir:"))) > 1:
        errors.append(document.error(loc, "a redirect has at most one smtp: or maildir: route"))
    return tuple(texts)


def _compile_rule(
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
        elif target not in NOTIFY_WORDS and _valid_address(target) is None:
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
        problem = _route_problem(text)
        if problem is not None:
            resolver.error((*loc, "redirect_to", index), problem)
    if not given and not settings.redirect_to:
        resolver.error((*loc, "action"), "redirect needs redirect_to here or in settings")
    return tuple(given)


def _valid_address(text: str) -> str | None:
    address = parse_envelope_address(text)
    return None if address is None or address.is_null else str(address)
