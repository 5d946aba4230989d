"""The YAML schema of the policy files: one pydantic model per section (strict, no unknown keys).

Top-level keys of a policy file (each file may hold any of them):
- `lists`: named lists of domains and addresses (merged across files);
- `networks`: named lists of client networks, CIDR (merged across files);
- `settings`: which lists play which role, the security officer, texts, routes;
- `rules`: the ordered rules (files are read in name order, rules appended);
- `signatures`: the signature validation policy (`SignatureSettings`);
- every field of `AnalysisSettings` (`document_types`, `classification`, `limits`, …).
All but `lists`, `networks` and `rules` may appear in one file only.
"""

from __future__ import annotations

import string
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, Field, model_validator

from gateway.policy.conditions.base import Regex, Spec

ActionName = Literal["accept", "tag", "redirect", "quarantine", "reject", "tempfail"]
REFUSALS = frozenset({"reject", "tempfail"})
PLACEHOLDERS = frozenset(
    {
        "rule",
        "reason",
        "reason_vi",
        "reason_en",
        "recipients",
        "documents",
        "documents_vi",
        "documents_en",
        "sender",
        "directive_vi",
        "directive_en",
        "security_officer",
    }
)
NOTIFY_WORDS = frozenset({"sender", "security_officer", "recipients"})


def _template(text: str) -> str:
    """A message or header template: `{placeholder}` names from PLACEHOLDERS only."""
    try:
        parsed = list(string.Formatter().parse(text))
    except ValueError as exc:
        raise ValueError(f"invalid template: {exc}") from exc
    for _literal, name, spec, conversion in parsed:
        if name is not None and name not in PLACEHOLDERS:
            known = ", ".join(sorted(PLACEHOLDERS))
            raise ValueError(f"unknown placeholder '{{{name}}}' (known: {known})")
        if spec or conversion:
            raise ValueError(f"placeholder '{{{name}}}' takes no format or conversion")
    return text


Template = Annotated[str, AfterValidator(_template)]
HeaderName = Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9-]*$")]


class ListSpec(Spec):
    """A named list: domains (with their subdomains unless `subdomains: false`) and addresses;
    `label_vi`, the list's name in Vietnamese reasons."""

    description: str = ""
    label_vi: str = ""
    domains: list[str] = Field(default_factory=list)
    addresses: list[str] = Field(default_factory=list)
    subdomains: bool = True


class NetworkListSpec(Spec):
    """A named list of client networks in CIDR form (`10.0.0.0/8`, `2001:db8::/32`)."""

    description: str = ""
    label_vi: str = ""
    networks: list[str]


class SettingsSpec(Spec):
    """The `settings:` section."""

    official_list: str = "official_domains"
    freemail_list: str = "freemail_domains"
    lookalike_exempt_list: str | None = None
    local_domains: str = "official_domains"
    internal_networks: str = "internal_networks"
    security_officer: str | None = None
    directive_vi: str | None = None
    directive_en: str | None = None
    agency_names: list[Regex] = Field(default_factory=list)
    result_header: HeaderName = "X-TTH-Policy"
    documents_header: HeaderName = "X-TTH-Documents"
    redirect_to: list[str] = Field(default_factory=list)
    unanalysable: Literal["quarantine", "tempfail", "reject"] = "quarantine"


ConditionMap = dict[str, Any]


class RuleSpec(Spec):
    """One rule; conditions are checked separately against the condition registry."""

    name: Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_.-]*$", max_length=80)]
    description: str = ""
    when: ConditionMap = Field(min_length=1)
    unless: ConditionMap | list[ConditionMap] | None = None
    action: ActionName
    mode: Literal["enforce", "monitor"] = "enforce"
    stop: bool = False
    status_code: int | None = Field(default=None, ge=400, le=599)
    enhanced_status: Annotated[str, Field(pattern=r"^[45]\.\d{1,3}\.\d{1,3}$")] | None = None
    message_vi: Template = ""
    message_en: Template = ""
    notify: list[str] = Field(default_factory=list)
    redirect_to: list[str] | None = None
    headers: dict[HeaderName, Template] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _coherent(self) -> RuleSpec:
        refusal = self.action in REFUSALS
        if not refusal and (self.status_code is not None or self.enhanced_status is not None):
            raise ValueError("status_code and enhanced_status apply to reject and tempfail only")
        wanted = "5" if self.action == "reject" else "4"
        if refusal and self.status_code is not None and str(self.status_code)[0] != wanted:
            raise ValueError(f"a {self.action} needs a {wanted}xx status_code")
        if refusal and self.enhanced_status is not None and self.enhanced_status[0] != wanted:
            raise ValueError(f"a {self.action} needs a {wanted}.x.x enhanced_status")
        if refusal and not (self.message_vi and self.message_en):
            raise ValueError(f"a {self.action} needs message_vi and message_en (bilingual)")
        if self.redirect_to is not None and self.action != "redirect":
            raise ValueError("redirect_to applies to the redirect action only")
        return self
