"""The spf, dkim and dmarc conditions: result sets, alignment, DMARC policy, no results."""

from __future__ import annotations

import pytest

from gateway.auth.results import Authentication, DkimResult, DmarcResult, Result, SpfResult
from gateway.mail.envelope import Direction
from gateway.policy.engine import evaluate_message
from gateway.policy.loader import PolicyError
from tests.support.builders import OUTSIDE_IP, analysis, envelope, one_rule

SIGNED = (DkimResult(Result.FAIL, "hue.gov.vn", "s1", aligned=True),
          DkimResult(Result.PASS, "mailer.example", "k", aligned=False))
AUTH = Authentication("hue.gov.vn", SpfResult(Result.SOFTFAIL, "mailer.example"), SIGNED,
                      DmarcResult(Result.FAIL, "hue.gov.vn", "hue.gov.vn", "reject", "quarantine"))


def probe(when: str, auth: Authentication | None = AUTH, unless: str = "") -> str | None:
    value = analysis(envelope("a@mailer.example", ("b@hue.gov.vn",), OUTSIDE_IP),
                     Direction.INBOUND)
    hits = evaluate_message(one_rule(when, unless), *value, auth).rules
    return hits[0].reason if hits else None


@pytest.mark.parametrize(("when", "expected"), [
    ("{spf: {result_in: [softfail, fail]}}", "spf=softfail (mailer.example)"),
    ("{spf: {result_not_in: [softfail]}}", None),
    ("{spf: {result_in: [softfail], aligned: true}}", None),
    ("{dkim: {result_in: [pass]}}", "dkim=pass (d=mailer.example s=k)"),
    ("{dkim: {result_in: [pass], aligned: true}}", None),
    ("{dkim: {result_in: [fail], aligned: true}}", "dkim=fail (d=hue.gov.vn s=s1 aligned)"),
    ("{dkim: {result_not_in: [pass], aligned: true}}", "dkim=fail (d=hue.gov.vn s=s1 aligned)"),
    ("{dkim: {result_not_in: [pass]}}", None),
    ("{dkim: {result_in: [none]}}", None),
    ("{dmarc: {result_in: [fail], policy_in: [quarantine]}}",
     "dmarc=fail (hue.gov.vn p=quarantine)"),
    ("{dmarc: {result_in: [fail], policy_in: [reject]}}", None),  # pct= lowered it
    ("{dmarc: {result_not_in: [pass]}}", "dmarc=fail (hue.gov.vn p=quarantine)"),
])
def test_conditions(when: str, expected: str | None) -> None:
    assert probe(when) == expected


def test_no_signature_is_dkim_none() -> None:
    unsigned = Authentication("hue.gov.vn", SpfResult(Result.PASS, "hue.gov.vn", aligned=True))
    assert probe("{dkim: {result_in: [none]}}", unsigned) == "dkim=none (no signature)"
    assert probe("{dkim: {result_not_in: [none]}}", unsigned) is None
    assert probe("{dkim: {result_not_in: [pass]}}", unsigned) == "dkim=none (no signature)"
    assert probe("{spf: {result_in: [pass], aligned: true}}", unsigned) == "spf=pass (hue.gov.vn)"


def test_without_authentication_nothing_holds() -> None:
    for when in ("{spf: {result_in: [none]}}", "{dkim: {result_in: [none]}}",
                 "{dmarc: {result_not_in: [pass]}}"):
        assert probe(when, None) is None


@pytest.mark.parametrize(("when", "message"), [
    ("{spf: {result_in: [maybe]}}", "result_in"),
    ("{dkim: {aligned: true}}", "exactly one of result_in, result_not_in"),
    ("{dmarc: {result_in: [fail], policy_in: [bounce]}}", "policy_in"),
])
def test_mistakes_are_policy_errors(when: str, message: str) -> None:
    with pytest.raises(PolicyError) as caught:
        one_rule(when)
    assert any(message in error and "rules.yaml:" in error for error in caught.value.errors)
