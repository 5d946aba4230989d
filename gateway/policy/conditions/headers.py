"""Conditions on the message header: From, Reply-To, alignment, display names, forwarding."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import model_validator

from gateway.analysis.model import Address
from gateway.analysis.skeleton import stamp_text
from gateway.analysis.vietnamese import fold
from gateway.mail.addresses import MailAddress, normalize_domain, registrable_domain
from gateway.policy.conditions.addressing import AddressMatcher, AddressTest
from gateway.policy.conditions.base import (
    MATCHED_CHARS,
    ConditionType,
    Facts,
    FlagSpec,
    Match,
    Regex,
    Resolver,
    Spec,
    Stage,
    compile_regex,
    searches,
)
from gateway.policy.lists import AddressList
from gateway.policy.lookalike import LookalikeDetector
from gateway.policy.wording import Evidence, joined, problem_vi

_NAMED_DOMAIN = re.compile(r"[\w.+-]+\s*[@＠]\s*([\w-]+(?:\.[\w-]+)+)")


def mailbox(address: Address) -> MailAddress:
    """The `MailAddress` of a parsed header address."""
    local = address.addr_spec.rsplit("@", 1)[0]
    if len(local) > 1 and local.startswith('"') and local.endswith('"'):
        local = local[1:-1]
    return MailAddress(local, address.domain)


@dataclass(frozen=True, slots=True)
class HeaderAddressCondition:
    """Tests the addresses of one header field (From, Reply-To); holds when any passes.

    A From field with no usable address is tested as an unparsable address
    (fail closed); an absent Reply-To holds for nothing.
    """

    field: str
    matcher: AddressMatcher
    stage: Stage = Stage.MESSAGE

    @property
    def needs(self) -> frozenset[str]:
        return frozenset({f"headers.{self.field}"})

    def test(self, facts: Facts) -> Match | None:
        headers = facts.need_analysis().headers
        found = headers.from_addresses if self.field == "from" else headers.reply_to
        candidates: list[MailAddress | None] = [mailbox(address) for address in found]
        if not candidates and self.field == "from":
            candidates = [None]
        title = "From" if self.field == "from" else "Reply-To"
        for candidate in candidates:
            said = self.matcher.test(candidate)
            if said is not None:
                return Match(Evidence(f"trường {title}: {said.vi}", f"{self.field}: {said.en}"))
        return None


def _header_address(field: str) -> ConditionType:
    def build(
        spec: AddressTest, resolver: Resolver, loc: tuple[Any, ...]
    ) -> HeaderAddressCondition:
        return HeaderAddressCondition(field, AddressMatcher.build(spec, resolver, loc))

    return ConditionType(field, AddressTest, build, f"header {field} addresses")


class AlignmentSpec(Spec):
    """`alignment: {aligned: false}`: From and envelope sender in different domains."""

    aligned: bool
    level: Literal["organizational", "exact"] = "organizational"


@dataclass(frozen=True, slots=True)
class AlignmentCondition:
    """Compares every From domain with the envelope sender's; undecidable for `<>`.

    Several From mailboxes are aligned only when every one of them is.
    """

    aligned: bool
    exact: bool
    stage: Stage = Stage.MESSAGE
    needs: frozenset[str] = frozenset({"envelope.mail_from", "headers.from"})

    def test(self, facts: Facts) -> Match | None:
        headers = facts.need_analysis().headers
        sender = facts.sender
        if sender is None or sender.is_null or not headers.from_addresses:
            return None
        unaligned = [a.domain for a in headers.from_addresses
                     if not self._same(a.domain, sender.domain)]
        header_domain = unaligned[0] if unaligned else headers.from_addresses[0].domain
        same = not unaligned
        if same != self.aligned:
            return None
        verb = "aligned with" if same else "not aligned with"
        verb_vi = "khớp" if same else "không khớp"
        return Match(Evidence(
            f"tên miền From {header_domain} {verb_vi} với người gửi {sender.domain}",
            f"From {header_domain} {verb} envelope sender {sender.domain}",
        ))

    def _same(self, a: str, b: str) -> bool:
        return a == b if self.exact else registrable_domain(a) == registrable_domain(b)


def _build_alignment(
    spec: AlignmentSpec, resolver: Resolver, loc: tuple[Any, ...]
) -> AlignmentCondition:
    return AlignmentCondition(spec.aligned, spec.level == "exact")


class DisplayNameSpec(Spec):
    """`matches` a regex and/or `names_official`: an official address or agency over another."""

    matches: Regex | None = None
    names_official: bool | None = None

    @model_validator(mode="after")
    def _something(self) -> DisplayNameSpec:
        if self.matches is None and self.names_official is None:
            raise ValueError("give matches and/or names_official")
        return self


@dataclass(frozen=True, slots=True)
class DisplayNameCondition:
    """Tests From display names; regexes see the name as written and without diacritics.

    `names_official` holds when the name contains an address of the official
    domains (or of a look-alike) or matches an agency pattern of the settings,
    while the address itself is not official.
    """

    pattern: re.Pattern[str] | None
    names_official: bool | None
    official: AddressList | None
    detector: LookalikeDetector | None
    agency_patterns: tuple[re.Pattern[str], ...]
    stage: Stage = Stage.MESSAGE
    needs: frozenset[str] = frozenset({"headers.from"})

    def test(self, facts: Facts) -> Match | None:
        for address in facts.need_analysis().headers.from_addresses:
            evidence = self._test_one(address)
            if evidence is not None:
                return Match(evidence)
        return None

    def _test_one(self, address: Address) -> Evidence | None:
        name = address.display_name
        evidence = []
        if self.pattern is not None:
            if not (searches(self.pattern, name) or searches(self.pattern, fold(name))):
                return None
            evidence.append(Evidence(
                f"tên hiển thị {name!r} khớp mẫu {self.pattern.pattern!r}",
                f"display name {name!r} matches {self.pattern.pattern!r}",
            ))
        if self.names_official is not None:
            named = self._names_official(address)
            if (named is not None) != self.names_official:
                return None
            evidence.append(named or Evidence(
                f"tên hiển thị {name!r} không nêu cơ quan nhà nước nào",
                f"display name {name!r} names no official body",
            ))
        return joined(evidence)

    def _names_official(self, address: Address) -> Evidence | None:
        if self.official is None or self.official.has(mailbox(address)):
            return None
        name = address.display_name
        for found in _NAMED_DOMAIN.finditer(name):
            domain = normalize_domain(found.group(1))
            if self.official.has_domain(domain) or (
                self.detector and self.detector.is_lookalike(domain)
            ):
                return Evidence(
                    f"tên hiển thị {name!r} nêu {found.group(0)} nhưng địa chỉ là "
                    f"{address.addr_spec}",
                    f"display name {name!r} names {found.group(0)} over {address.addr_spec}",
                )
        # "UВND" (Cyrillic В), "ＵＢＮＤ", "U\u200bBND": UBND; only the part the patterns see
        folded = fold(stamp_text(name[:MATCHED_CHARS]))
        for pattern in self.agency_patterns:
            if searches(pattern, folded):
                return Evidence(
                    f"tên hiển thị {name!r} mang tên cơ quan nhà nước nhưng địa chỉ là "
                    f"{address.addr_spec}",
                    f"display name {name!r} names an agency over {address.addr_spec}",
                )
        return None


def _build_display_name(
    spec: DisplayNameSpec, resolver: Resolver, loc: tuple[Any, ...]
) -> DisplayNameCondition:
    official_name = resolver.settings.official_list
    official = resolver.lists.get(official_name)
    if spec.names_official is not None and official is None:
        resolver.error(loc, f"names_official needs the official list '{official_name}'")
    return DisplayNameCondition(
        compile_regex(spec.matches) if spec.matches is not None else None,
        spec.names_official,
        official,
        resolver.detector(official_name, loc) if official is not None else None,
        resolver.settings.agency_name_patterns,
    )


@dataclass(frozen=True, slots=True)
class AutoForwardedCondition:
    """Holds when the header shows automatic forwarding (or, with `false`, shows none)."""

    expected: bool
    stage: Stage = Stage.MESSAGE
    needs: frozenset[str] = frozenset({"headers.forwarding_markers"})

    def test(self, facts: Facts) -> Match | None:
        markers = facts.need_analysis().headers.forwarding_markers
        if bool(markers) != self.expected:
            return None
        if not markers:
            return Match(Evidence("thư không tự động chuyển tiếp", "not forwarded"))
        listed = ", ".join(markers)
        return Match(Evidence(f"dấu hiệu tự động chuyển tiếp: {listed}",
                              f"forwarding markers: {listed}"))


def _build_auto_forwarded(
    spec: FlagSpec, resolver: Resolver, loc: tuple[Any, ...]
) -> AutoForwardedCondition:
    return AutoForwardedCondition(spec.root)


class HeaderSpec(Spec):
    """`header: {name: X-Mailer, matches: "..."}`; without `matches`, the field is present."""

    name: str
    matches: Regex | None = None


@dataclass(frozen=True, slots=True)
class HeaderCondition:
    """Holds when a header field is present (and its decoded value matches)."""

    name: str
    pattern: re.Pattern[str] | None
    stage: Stage = Stage.MESSAGE
    needs: frozenset[str] = frozenset({"headers.fields"})

    def test(self, facts: Facts) -> Match | None:
        for field, value in facts.need_analysis().headers.fields:
            if field == self.name and (self.pattern is None or searches(self.pattern, value)):
                return Match(Evidence(f"trường {field}: {value[:120]}", f"{field}: {value[:120]}"))
        return None


def _build_header(spec: HeaderSpec, resolver: Resolver, loc: tuple[Any, ...]) -> HeaderCondition:
    pattern = compile_regex(spec.matches) if spec.matches is not None else None
    return HeaderCondition(spec.name.strip().lower(), pattern)


class ProblemSpec(Spec):
    """`header_problems: {matches: "from: several"}` (any problem when `matches` is left out)."""

    matches: Regex = "."


@dataclass(frozen=True, slots=True)
class ProblemCondition:
    """Holds when the header or the analysis reported a matching problem."""

    pattern: re.Pattern[str]
    stage: Stage = Stage.MESSAGE
    needs: frozenset[str] = frozenset({"headers.problems", "problems"})

    def test(self, facts: Facts) -> Match | None:
        analysis = facts.need_analysis()
        found = [
            p for p in (*analysis.headers.problems, *analysis.problems)
            if searches(self.pattern, p)
        ]
        if not found:
            return None
        said = "; ".join(dict.fromkeys(problem_vi(problem) for problem in found))
        return Match(Evidence(said, "; ".join(found)))


def _build_problems(
    spec: ProblemSpec, resolver: Resolver, loc: tuple[Any, ...]
) -> ProblemCondition:
    return ProblemCondition(compile_regex(spec.matches))


HEADER_CONDITIONS = (
    _header_address("from"),
    _header_address("reply_to"),
    ConditionType("alignment", AlignmentSpec, _build_alignment, "From vs envelope sender domain"),
    ConditionType("display_name", DisplayNameSpec, _build_display_name, "From display names"),
    ConditionType(
        "auto_forwarded", FlagSpec, _build_auto_forwarded, "automatic forwarding markers"
    ),
    ConditionType("header", HeaderSpec, _build_header, "a header field and its value"),
    ConditionType("header_problems", ProblemSpec, _build_problems, "malformed headers"),
)
