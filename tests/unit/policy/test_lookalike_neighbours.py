"""Imitations of the official domains are refused; the province's neighbours, which only
carry its name, are at most tagged (issue 10, item 6). Judged by the shipped policy."""

from __future__ import annotations

import pytest

from gateway.policy.engine import direction_of, evaluate_sender, evaluate_transaction
from gateway.policy.loader import Policy, load_policy
from gateway.policy.lookalike import Kind
from gateway.policy.verdict import Action, Mode
from tests.support.builders import OUTSIDE_IP, POLICIES, address, analysis, envelope

OFFICIAL = "vanthu@sotttt.thuathienhue.gov.vn"

IMITATIONS = [
    "thuаthienhue.gov.vn",  # Cyrillic а: homograph
    "xn--thuthienhue-0ij.gov.vn",  # the same in punycode
    "thuathlenhue.gov.vn",  # l for i
    "thuath1enhue.gov.vn",  # 1 for i
    "thuathienhue.gov.vm",  # typo in the suffix
    "thuathinehue.gov.vn",  # transposition
    "hue.gov.vm",
    "thuathienhue.gov.vn.evil.com",  # the official domain as a prefix
    "hue.gov.vn.evil.com",
    "thuathienhue.gov.vn-secure.net",
    "thua-thien-hue.gov.vn",  # hyphen variants
    "thuathienhue-gov.vn",
    "hue-gov.vn",
    "thuathienhuegov.vn",  # dot variants
    "thuathienhue.govvn.com",
    "thuаthienhue.com",  # a homograph of the name, whatever the suffix
]

NEIGHBOURS = [
    # (domain, tagged as a namesake by the default policy)
    ("baothuathienhue.vn", False),  # provincial newspaper, in lookalike_exempt
    ("news.baothuathienhue.vn", False),
    ("huengaynay.vn", False),  # Báo Huế Ngày Nay, exempt
    ("hueuni.edu.vn", False),  # Hue University, exempt
    ("med.hueuni.edu.vn", False),
    ("huecity.gov.vn", False),  # a sibling under gov.vn: neither
    ("quangtri.gov.vn", False),
    ("thuathienhue.edu.vn", True),  # the name under another suffix: tagged only
    ("thuathienhue.com", True),
    ("thuathienhue.vn", True),
    ("mail-thuathienhue.vn", True),  # the name inside another label
    ("dulichthuathienhue.com.vn", True),
]


@pytest.fixture(scope="module")
def policy() -> Policy:
    return load_policy(POLICIES)


@pytest.mark.parametrize("domain", IMITATIONS)
def test_imitations_are_refused(policy: Policy, domain: str) -> None:
    detector = policy.lookalike
    found = detector.check(domain)
    assert found is not None and found.kind is Kind.IMITATION, found
    verdict = evaluate_sender(policy, envelope(f"vanthu@{domain}", (), OUTSIDE_IP))
    assert verdict.action is Action.REJECT
    assert verdict.deciding_rule is not None
    assert verdict.deciding_rule.name == "lookalike-sender"
    env = envelope("bounce@mailer.example.com", (OFFICIAL,), OUTSIDE_IP)
    value = analysis(env, direction_of(policy, env), from_=(address(f"a@{domain}"),))
    assert evaluate_transaction(policy, *value).action is Action.REJECT


@pytest.mark.parametrize(("domain", "tagged"), NEIGHBOURS)
def test_neighbours_are_never_refused(policy: Policy, domain: str, tagged: bool) -> None:
    found = policy.lookalike.check(domain)
    assert found is None or found.kind is Kind.NAME, found
    assert not policy.lookalike.is_lookalike(domain)
    sender = f"toasoan@{domain}"
    env = envelope(sender, (OFFICIAL,), OUTSIDE_IP)
    verdict = evaluate_transaction(policy, *analysis(env, direction_of(policy, env)))
    assert verdict.action is (Action.TAG if tagged else Action.ACCEPT), verdict.rules
    fired = [hit.name for hit in verdict.rules if hit.mode is Mode.ENFORCE]
    assert fired == (["namesake-domain"] if tagged else [])
    if tagged:
        assert "carries the name of thuathienhue.gov.vn" in verdict.rules[0].reason


def test_neighbours_may_write_to_a_neighbour_and_be_written_to(policy: Policy) -> None:
    """A recipient carrying the name is not refused at RCPT either (only imitations are)."""
    env = envelope(OFFICIAL, ("toasoan@baothuathienhue.vn", "gv@thuathienhue.edu.vn"),
                   "10.1.2.3")
    verdict = evaluate_transaction(policy, *analysis(env, direction_of(policy, env)))
    assert verdict.action is Action.ACCEPT, verdict.rules


def test_the_shipped_exempt_list_names_real_neighbours(policy: Policy) -> None:
    exempt = policy.lists["lookalike_exempt"]
    for domain in ("baothuathienhue.vn", "huengaynay.vn", "hueuni.edu.vn"):
        assert exempt.has_domain(domain)
    assert (POLICIES / "lists.yaml").read_text().count("      # ") >= 3  # each one commented
