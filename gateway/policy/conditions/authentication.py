"""Conditions on sender authentication (SPF, DKIM, DMARC) of mail from outside.

Only mail from outside is authenticated: for mail from inside these
conditions never hold. `aligned: true` asks for the identifier (DKIM d=, SPF
MAIL FROM domain) to share the organisational domain of the From address.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from pydantic import model_validator

from gateway.auth.results import Authentication, Result
from gateway.policy.conditions.base import ConditionType, Facts, Match, Resolver, Spec, Stage
from gateway.policy.wording import Evidence, joined

#: RFC 8601 result words and DMARC policies, as the Vietnamese evidence says them.
RESULT_VI = {
    "pass": "đạt", "fail": "không đạt", "softfail": "không đạt (mức nhẹ)",
    "neutral": "không kết luận", "none": "không có", "temperror": "lỗi tạm thời khi tra DNS",
    "permerror": "lỗi cố định trong bản ghi", "policy": "bị chính sách loại",
}
POLICY_VI = {"none": "không yêu cầu", "quarantine": "cách ly", "reject": "từ chối"}

ResultName = Literal["pass", "fail", "softfail", "neutral", "none", "temperror", "permerror"]
PolicyName = Literal["none", "quarantine", "reject"]


class _ResultSpec(Spec):
    result_in: list[ResultName] | None = None
    result_not_in: list[ResultName] | None = None
    aligned: bool = False

    @model_validator(mode="after")
    def _one(self) -> _ResultSpec:
        if (self.result_in is None) == (self.result_not_in is None):
            raise ValueError("give exactly one of result_in, result_not_in")
        return self

    def results(self) -> tuple[frozenset[Result], bool]:
        chosen = self.result_in if self.result_in is not None else self.result_not_in
        assert chosen is not None
        return frozenset(Result(name) for name in chosen), self.result_in is not None


class SpfSpec(_ResultSpec):
    """`spf: {result_in: [pass], aligned: true}` (or `result_not_in`)."""


class DkimSpec(_ResultSpec):
    """`dkim: {result_in: [pass], aligned: true}`: some signature's result is in the set
    (`none`: the message has no signature)."""


class DmarcSpec(_ResultSpec):
    """`dmarc: {result_in: [fail], policy_in: [reject]}`: `policy_in` is what the From
    domain's record asks for this message (p= or sp=, after pct= sampling)."""

    policy_in: list[PolicyName] | None = None


@dataclass(frozen=True, slots=True)
class AuthCondition:
    """Holds when the method's result is (not) in `results`, and aligned if asked."""

    method: Literal["spf", "dkim", "dmarc"]
    results: frozenset[Result]
    inside: bool
    aligned: bool = False
    policies: frozenset[str] | None = None
    stage: Stage = Stage.MESSAGE

    @property
    def needs(self) -> frozenset[str]:
        return frozenset({f"authentication.{self.method}"})

    def test(self, facts: Facts) -> Match | None:
        auth = facts.authentication
        if auth is None:
            return None
        if self.method == "dkim":
            return self._dkim(auth)
        if self.method == "spf":
            spf = auth.spf
            if (spf.result in self.results) != self.inside or (self.aligned and not spf.aligned):
                return None
            return Match(Evidence(
                f"kiểm tra SPF: {RESULT_VI[spf.result.value]} "
                f"(miền {spf.domain or 'không xác định'})",
                f"spf={spf.result.value} ({spf.domain or 'no domain'})"))
        dmarc = auth.dmarc
        if (dmarc.result in self.results) != self.inside:
            return None
        if self.aligned and not dmarc.aligned:
            return None
        if self.policies is not None and (dmarc.disposition or "none") not in self.policies:
            return None
        policy = f" p={dmarc.disposition}" if dmarc.disposition else ""
        policy_vi = (f", chính sách: {POLICY_VI.get(dmarc.disposition, dmarc.disposition)}"
                     if dmarc.disposition else "")
        return Match(Evidence(
            f"kiểm tra DMARC: {RESULT_VI[dmarc.result.value]} "
            f"(miền {dmarc.domain or 'không xác định'}{policy_vi})",
            f"dmarc={dmarc.result.value} ({dmarc.domain or 'no From domain'}{policy})"))

    def _dkim(self, auth: Authentication) -> Match | None:
        signatures = [item for item in auth.dkim if not self.aligned or item.aligned]
        found = {item.result for item in signatures} or {Result.NONE}
        chosen = [item for item in signatures if (item.result in self.results) == self.inside]
        if self.inside and not chosen and not (Result.NONE in self.results and not signatures):
            return None
        if not self.inside and found & self.results:
            return None
        if not chosen:
            return Match(Evidence("thư không có chữ ký DKIM", "dkim=none (no signature)"))
        return Match(joined(Evidence(
            f"chữ ký DKIM: {RESULT_VI[item.result.value]} (d={item.domain} s={item.selector}"
            f"{', cùng miền với người gửi' if item.aligned else ''})",
            f"dkim={item.result.value} (d={item.domain} s={item.selector}"
            f"{' aligned' if item.aligned else ''})") for item in chosen))


def _builder(method: Literal["spf", "dkim", "dmarc"]) -> Any:
    def build(spec: _ResultSpec, resolver: Resolver, loc: tuple[Any, ...]) -> AuthCondition:
        results, inside = spec.results()
        policies = getattr(spec, "policy_in", None)
        return AuthCondition(method, results, inside, spec.aligned,
                             frozenset(policies) if policies is not None else None)

    return build


AUTH_CONDITIONS = (
    ConditionType("spf", SpfSpec, _builder("spf"), "SPF result of the MAIL FROM domain"),
    ConditionType("dkim", DkimSpec, _builder("dkim"), "DKIM results, aligned with From"),
    ConditionType("dmarc", DmarcSpec, _builder("dmarc"), "DMARC result and the domain's policy"),
)
