"""Compile the policy's lists, networks and settings, reporting each problem at its position."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from gateway.mail.addresses import canonical_domain, parse_envelope_address
from gateway.policy.compile_rule import route_problem
from gateway.policy.lists import AddressList, IPNetwork, NetworkList
from gateway.policy.schema import ListSpec, NetworkListSpec, SettingsSpec
from gateway.policy.settings import DEFAULT_DIRECTIVE_EN, DEFAULT_DIRECTIVE_VI, PolicySettings
from gateway.yamlsource import YamlDocument


def address_list(
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


def network_list(
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


def compile_settings(
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


def agency_organizations(mapping: Mapping[str, list[str]]) -> Mapping[str, tuple[str, ...]]:
    return MappingProxyType({canonical_domain(d)[0]: tuple(n) for d, n in mapping.items()})


def _address(
    text: str | None, document: YamlDocument, loc: tuple[Any, ...], errors: list[str]
) -> str | None:
    if text is None:
        return None
    address = parse_envelope_address(text)
    if address is None or address.is_null:
        errors.append(document.error(loc, f"invalid address '{text}'"))
        # Kept as written: the policy is refused for this error, and the rules that
        # notify this address are not told a second time, wrongly, that it is not set.
        return text
    return str(address)


def _routes(
    texts: list[str], document: YamlDocument, loc: tuple[Any, ...], errors: list[str]
) -> tuple[str, ...]:
    problems = [(i, route_problem(text)) for i, text in enumerate(texts)]
    errors.extend(document.error((*loc, i), problem) for i, problem in problems if problem)
    if sum(1 for text in texts if text.startswith(("smtp:", "maildir:"))) > 1:
        errors.append(document.error(loc, "a redirect has at most one smtp: or maildir: route"))
    return tuple(texts)
