"""Tests on one address shared by the sender, recipient and header-address conditions."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from pydantic import Field, model_validator

from gateway.mail.addresses import MailAddress
from gateway.policy.conditions.base import Name, Names, Resolver, Spec
from gateway.policy.lists import AddressList, NetworkList
from gateway.policy.lookalike import Kind, LookalikeDetector
from gateway.policy.wording import Evidence, joined


class AddressTest(Spec):
    """`in` / `not_in` named lists, `lookalike_of` a list, `namesake_of` a list,
    `null_sender`, `unparsable`: all that are given hold.

    `lookalike_of` holds for an imitation of an official domain (homograph, typo,
    the official domain as a prefix or with hyphens); `namesake_of` for a
    different domain that only carries the official name (`baothuathienhue.vn`).

    (`null_sender`, not `null`: YAML reads a bare `null` key as no key at all.)
    """

    in_: Names | None = Field(default=None, alias="in")
    not_in: Names | None = None
    lookalike_of: Name | None = None
    namesake_of: Name | None = None
    null: bool | None = Field(default=None, alias="null_sender")
    unparsable: bool | None = None

    @model_validator(mode="after")
    def _something(self) -> AddressTest:
        tests = (self.in_, self.not_in, self.lookalike_of, self.namesake_of, self.null,
                 self.unparsable)
        if all(test is None for test in tests):
            raise ValueError("give at least one of in, not_in, lookalike_of, namesake_of, "
                             "null_sender, unparsable")
        return self


@dataclass(frozen=True, slots=True)
class AddressMatcher:
    """A compiled `AddressTest`.

    The null sender is in no list and outside none (`not_in` does not hold for
    it: test it with `null_sender`); an unparsable address is outside every list
    (fail closed) and never a look-alike.
    """

    in_lists: tuple[AddressList, ...] | None
    not_in_lists: tuple[AddressList, ...] | None
    detector: LookalikeDetector | None
    namesakes: LookalikeDetector | None
    null: bool | None
    unparsable: bool | None

    @classmethod
    def build(cls, spec: AddressTest, resolver: Resolver, loc: tuple[Any, ...]) -> AddressMatcher:
        return cls(
            resolver.address_lists(spec.in_, (*loc, "in")) if spec.in_ is not None else None,
            resolver.address_lists(spec.not_in, (*loc, "not_in"))
            if spec.not_in is not None
            else None,
            resolver.detector(spec.lookalike_of, (*loc, "lookalike_of"))
            if spec.lookalike_of
            else None,
            resolver.detector(spec.namesake_of, (*loc, "namesake_of"))
            if spec.namesake_of
            else None,
            spec.null,
            spec.unparsable,
        )

    def test(self, address: MailAddress | None) -> Evidence | None:
        """Evidence when every given test holds for `address`, else None."""
        if self.unparsable is not None and (address is None) != self.unparsable:
            return None
        if address is None:
            return self._unparsable()
        if self.null is not None and address.is_null != self.null:
            return None
        evidence = [_NULL] if address.is_null and self.null else []
        parts = (self._in(address), self._not_in(address), self._lookalike(address),
                 self._namesake(address))
        for part in parts:
            if part is None:
                return None
            evidence.extend(part)
        return joined(evidence) or Evidence(str(address), str(address))

    def _unparsable(self) -> Evidence | None:
        if (self.in_lists is not None or self.detector is not None
                or self.namesakes is not None or self.null):
            return None
        return Evidence("địa chỉ không đọc được", "unparsable address")

    def _in(self, address: MailAddress) -> list[Evidence] | None:
        if self.in_lists is None:
            return []
        hits = [item for item in self.in_lists if item.has(address)]
        if not hits:
            return None
        return [Evidence(f"{address.domain} thuộc {labels_vi(hits)}",
                         f"{address.domain} in {', '.join(item.name for item in hits)}")]

    def _not_in(self, address: MailAddress) -> list[Evidence] | None:
        if self.not_in_lists is None:
            return []
        if address.is_null or any(item.has(address) for item in self.not_in_lists):
            return None
        names = ", ".join(item.name for item in self.not_in_lists)
        return [Evidence(f"{address.domain} không thuộc {labels_vi(self.not_in_lists)}",
                         f"{address.domain} not in {names}")]

    def _lookalike(self, address: MailAddress) -> list[Evidence] | None:
        if self.detector is None:
            return []
        if address.is_null:
            return None
        found = self.detector.imitation(address.domain)
        if found is None:
            return None
        return [Evidence(f"{found.domain} giả danh {found.imitates} ({found.reason_vi})",
                         f"{found.domain} imitates {found.imitates} ({found.reason})")]

    def _namesake(self, address: MailAddress) -> list[Evidence] | None:
        if self.namesakes is None:
            return []
        found = None if address.is_null else self.namesakes.check(address.domain)
        if found is None or found.kind is not Kind.NAME:
            return None
        return [Evidence(
            f"{found.domain} trùng tên với {found.imitates} ({found.reason_vi}) nhưng không "
            "phải tên miền công vụ",
            f"{found.domain} carries the name of {found.imitates} ({found.reason})",
        )]


_NULL = Evidence("người gửi rỗng (<>)", "null sender")


def labels_vi(lists: Iterable[AddressList | NetworkList]) -> str:
    """Named lists as the Vietnamese reader knows them: their `label_vi`, else their name."""
    return ", ".join(item.label_vi or item.name for item in lists)
