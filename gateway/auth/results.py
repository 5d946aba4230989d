"""The outcome of sender authentication as plain values, and its Authentication-Results field."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class Result(StrEnum):
    """The result words of RFC 8601 for SPF, DKIM, DMARC and ARC."""

    PASS = "pass"
    FAIL = "fail"
    SOFTFAIL = "softfail"
    NEUTRAL = "neutral"
    NONE = "none"
    TEMPERROR = "temperror"
    PERMERROR = "permerror"
    POLICY = "policy"


@dataclass(frozen=True, slots=True)
class SpfResult:
    """check_host() of RFC 7208 for the MAIL FROM identity (or HELO when MAIL FROM is <>)."""

    result: Result
    domain: str = ""
    scope: str = "mailfrom"
    reason: str = ""
    aligned: bool = False


@dataclass(frozen=True, slots=True)
class DkimResult:
    """One DKIM-Signature field and its verification."""

    result: Result
    domain: str = ""
    selector: str = ""
    algorithm: str = ""
    reason: str = ""
    aligned: bool = False


@dataclass(frozen=True, slots=True)
class DmarcResult:
    """RFC 7489: `policy` is what the domain asks (p= or sp=), `disposition` what applies
    after pct= sampling; `aligned` names the identifiers that passed aligned."""

    result: Result
    domain: str = ""
    record_domain: str = ""
    policy: str | None = None
    disposition: str | None = None
    aligned: tuple[str, ...] = ()
    reason: str = ""


@dataclass(frozen=True, slots=True)
class ArcResult:
    """ARC chain validation (RFC 8617): pass, fail or none, with the instance count."""

    result: Result
    instances: int = 0
    reason: str = ""


@dataclass(frozen=True, slots=True)
class Authentication:
    """Everything the authentication stage found about one message from outside."""

    from_domain: str
    spf: SpfResult
    dkim: tuple[DkimResult, ...] = ()
    dmarc: DmarcResult = field(default_factory=lambda: DmarcResult(Result.NONE))
    arc: ArcResult = field(default_factory=lambda: ArcResult(Result.NONE))

    @property
    def dkim_summary(self) -> Result:
        """One word for all signatures: pass if any passed, else the most telling failure."""
        found = {item.result for item in self.dkim}
        for result in (Result.PASS, Result.TEMPERROR, Result.FAIL, Result.PERMERROR,
                       Result.NEUTRAL):
            if result in found:
                return result
        return Result.NONE

    def summary(self) -> str:
        """`spf=pass dkim=pass dmarc=pass`, for X-TTH-Policy and logs."""
        return (f"spf={self.spf.result.value} dkim={self.dkim_summary.value} "
                f"dmarc={self.dmarc.result.value} arc={self.arc.result.value}")


_TOKEN = re.compile(r"^[A-Za-z0-9!#$%&'*+\-/=?^_`{|}~.@]+$")


def _value(text: str) -> str:
    """A property value: a token as is, anything else as a quoted string."""
    if _TOKEN.match(text):
        return text
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def header_value(authserv_id: str, auth: Authentication, mail_from: str) -> str:
    """The body of one Authentication-Results field (RFC 8601), folded one method a line."""
    parts = []
    spf = auth.spf
    prop = "smtp.mailfrom" if spf.scope == "mailfrom" else "smtp.helo"
    identity = mail_from if spf.scope == "mailfrom" and mail_from else spf.domain
    parts.append(f"spf={spf.result.value}" + (f" {prop}={_value(identity)}" if identity else ""))
    for item in auth.dkim:
        text = f"dkim={item.result.value}"
        if item.reason and item.result is not Result.PASS:
            text += f" ({_comment(item.reason)})"
        if item.domain:
            text += f" header.d={_value(item.domain)} header.s={_value(item.selector)}"
        if item.algorithm:
            text += f" header.a={_value(item.algorithm)}"
        parts.append(text)
    if not auth.dkim:
        parts.append("dkim=none")
    dmarc = auth.dmarc
    text = f"dmarc={dmarc.result.value}"
    if dmarc.policy:
        text += f" (p={dmarc.policy} dis={(dmarc.disposition or 'none')})"
    if auth.from_domain:
        text += f" header.from={_value(auth.from_domain)}"
    parts.append(text)
    parts.append(f"arc={auth.arc.result.value}")
    return ";\r\n\t".join([authserv_id, *parts])


def _comment(text: str) -> str:
    cleaned = re.sub(r"[()\\\r\n]", " ", text)
    return cleaned[:120].strip()


def authentication_json(auth: Authentication | None) -> dict[str, Any] | None:
    """The `authentication` key of the verdict JSON (DESIGN.md)."""
    if auth is None:
        return None
    return {
        "spf": {"result": auth.spf.result.value, "domain": auth.spf.domain,
                "scope": auth.spf.scope, "aligned": auth.spf.aligned,
                "reason": auth.spf.reason},
        "dkim": [{"domain": item.domain, "selector": item.selector,
                  "result": item.result.value, "algorithm": item.algorithm,
                  "aligned": item.aligned, "reason": item.reason} for item in auth.dkim],
        "dmarc": {"result": auth.dmarc.result.value, "policy": auth.dmarc.policy,
                  "domain": auth.dmarc.domain, "disposition": auth.dmarc.disposition,
                  "aligned": list(auth.dmarc.aligned), "reason": auth.dmarc.reason},
        "arc": {"result": auth.arc.result.value, "instances": auth.arc.instances,
                "reason": auth.arc.reason},
    }


def authentication_line(body: dict[str, Any]) -> str:
    """The table line of `check`: `spf=pass (example.org) dkim=pass (d=… s=…) dmarc=…`."""
    spf = body["spf"]
    dkim = " ".join(f"dkim={item['result']} (d={item['domain']} s={item['selector']})"
                    for item in body["dkim"]) or "dkim=none"
    dmarc = body["dmarc"]
    policy = f" p={dmarc['policy']}" if dmarc["policy"] else ""
    return (f"spf={spf['result']} ({spf['domain'] or '-'}) {dkim} "
            f"dmarc={dmarc['result']} ({dmarc['domain'] or '-'}{policy}) "
            f"arc={body['arc']['result']}")
