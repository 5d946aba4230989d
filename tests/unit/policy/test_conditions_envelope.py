"""Envelope conditions: direction, client network, sender, recipients (pure, one probe rule)."""

from __future__ import annotations

from gateway.mail.envelope import Direction
from gateway.policy.conditions.base import Stage
from tests.support.builders import OUTSIDE_IP, analysis, envelope, one_rule, reason


def test_direction_single_and_list() -> None:
    policy = one_rule("{direction: inbound}")
    assert reason(policy, analysis(direction=Direction.INBOUND)) == "direction inbound"
    assert reason(policy, analysis(direction=Direction.OUTBOUND)) is None
    both = one_rule("{direction: [outbound, internal]}")
    assert reason(both, analysis(direction=Direction.INTERNAL)) == "direction internal"
    assert reason(both, analysis(direction=Direction.INBOUND)) is None


def test_direction_stage_depends_on_whether_recipients_matter() -> None:
    assert one_rule("{direction: inbound}").rules[0].stage is Stage.SENDER
    assert one_rule("{direction: [outbound, internal]}").rules[0].stage is Stage.SENDER
    assert one_rule("{direction: outbound}").rules[0].stage is Stage.RECIPIENT


def test_client_network_in_and_not_in() -> None:
    inside = one_rule("{client_network: {in: internal_networks}}")
    assert reason(inside, analysis()) == "client 10.1.2.3 in internal_networks"
    assert reason(inside, analysis(envelope(client_ip=OUTSIDE_IP))) is None
    outside = one_rule("{client_network: {not_in: internal_networks}}")
    assert reason(outside, analysis(envelope(client_ip=None))) == (
        "client unknown outside internal_networks"
    )
    assert reason(inside, analysis(envelope(client_ip="::ffff:10.9.9.9"))) is not None


def test_sender_in_list_with_subdomains_case_and_idna() -> None:
    policy = one_rule("{sender: {in: official_domains}}")
    found = reason(policy, analysis(envelope("VanThu+x@SoTTTT.ThuaThienHue.Gov.VN")))
    assert found == "envelope sender: sotttt.thuathienhue.gov.vn in official_domains"
    assert reason(policy, analysis(envelope("a@thuathienhue.gov.vn.evil.com"))) is None


def test_sender_not_in_and_the_null_sender() -> None:
    policy = one_rule("{sender: {not_in: official_domains}}")
    assert reason(policy, analysis(envelope("x@gmail.com"))) == (
        "envelope sender: gmail.com not in official_domains"
    )
    assert reason(policy, analysis(envelope("<>"))) is None
    null = one_rule("{sender: {null_sender: true}}")
    assert reason(null, analysis(envelope("<>"))) == "envelope sender: null sender"
    assert reason(null, analysis(envelope("a@gmail.com"))) is None


def test_unparsable_sender_is_outside_every_list() -> None:
    policy = one_rule("{sender: {not_in: official_domains}}")
    assert (
        reason(policy, analysis(envelope("not an address")))
        == "envelope sender: unparsable address"
    )
    assert reason(one_rule("{sender: {in: freemail_domains}}"), analysis(envelope("x@@"))) is None


def test_sender_lookalike() -> None:
    policy = one_rule("{sender: {lookalike_of: official_domains}}")
    found = reason(policy, analysis(envelope("vanthu@thuathlenhue.gov.vn")))
    assert found is not None and "imitates thuathienhue.gov.vn" in found
    assert reason(policy, analysis(envelope("vanthu@sotttt.thuathienhue.gov.vn"))) is None


def test_recipients_any_names_offenders_and_all() -> None:
    rcpts = ("a@gmail.com", "b@thuathienhue.gov.vn", "c@YAHOO.com")
    any_ = one_rule("{recipients: {in: freemail_domains}}")
    policy_hit = reason(any_, analysis(envelope(rcpts=rcpts)))
    assert policy_hit == (
        "recipients a@gmail.com: gmail.com in freemail_domains; "
        "c@YAHOO.com: yahoo.com in freemail_domains"
    )
    all_ = one_rule("{recipients: {in: freemail_domains, quantifier: all}}")
    assert reason(all_, analysis(envelope(rcpts=rcpts))) is None
    assert reason(all_, analysis(envelope(rcpts=("a@gmail.com",)))) is not None
    assert any_.rules[0].stage is Stage.RECIPIENT
    assert all_.rules[0].stage is Stage.MESSAGE


def test_recipients_in_and_not_in_together_exempt_partners() -> None:
    policy = one_rule("{recipients: {in: freemail_domains, not_in: partners}}")
    assert reason(policy, analysis(envelope(rcpts=("Partner+x@gmail.com",)))) is None
    assert reason(policy, analysis(envelope(rcpts=("other@gmail.com",)))) is not None
