"""How rules combine, which step decides what, and what the verdict carries."""

from __future__ import annotations

import dataclasses
import functools
from email.header import decode_header, make_header

from gateway.mail.envelope import Direction
from gateway.policy.direction import direction
from gateway.policy.engine import (
    direction_of,
    evaluate_message,
    evaluate_recipient,
    evaluate_sender,
    evaluate_transaction,
)
from gateway.policy.steps import envelope_steps
from gateway.policy.verdict import Action, Mode
from gateway.signatures.model import SignatureStatus
from tests.support.builders import (
    OUTSIDE_IP,
    analysis,
    document,
    envelope,
    policy_of,
)

REFUSE = "    message_vi: 'từ chối {recipients}'\n    message_en: 'refused {recipients}'\n"


def rule(name: str, when: str, action: str, extra: str = "") -> str:
    messages = REFUSE if action in ("reject", "tempfail") else ""
    return f"  - name: {name}\n    when: {when}\n    action: {action}\n{messages}{extra}"


def rules(*items: str) -> str:
    return "rules:\n" + "".join(items)


def test_strongest_action_wins_and_every_hit_is_reported() -> None:
    policy = policy_of(
        rules(
            rule("tagger", "{direction: outbound}", "tag"),
            rule("holder", "{size: {over: 10}}", "quarantine", "    notify: [sender]\n"),
            rule("never", "{size: {over: 999999}}", "reject"),
            rule("other-tag", "{size: {over: 10}}", "tag"),
        )
    )
    verdict = evaluate_message(policy, *analysis())
    assert verdict.action is Action.QUARANTINE
    assert [hit.name for hit in verdict.rules] == ["tagger", "holder", "other-tag"]
    assert verdict.missed == ("never",)
    assert verdict.deciding_rule is not None and verdict.deciding_rule.name == "holder"
    assert verdict.deciding_rule.notify == ("a@thuathienhue.gov.vn",)


def test_tie_goes_to_the_first_rule() -> None:
    policy = policy_of(
        rules(
            rule("first", "{size: {over: 10}}", "tag"), rule("second", "{size: {over: 10}}", "tag")
        )
    )
    verdict = evaluate_message(policy, *analysis())
    assert verdict.deciding_rule is not None and verdict.deciding_rule.name == "first"


def test_stop_ends_evaluation_and_monitor_never_decides() -> None:
    policy = policy_of(
        rules(
            rule("watch", "{size: {over: 10}}", "reject", "    mode: monitor\n    stop: true\n"),
            rule("allow", "{size: {over: 10}}", "accept", "    stop: true\n"),
            rule("later", "{size: {over: 10}}", "reject"),
        )
    )
    verdict = evaluate_message(policy, *analysis())
    assert verdict.action is Action.ACCEPT
    assert [(hit.name, hit.mode) for hit in verdict.rules] == [
        ("watch", Mode.MONITOR),
        ("allow", Mode.ENFORCE),
    ]
    assert "later" not in verdict.missed
    header = dict(verdict.headers)["X-TTH-Policy"]
    assert header.startswith("action=accept; rules=allow; monitor=watch; policy=")


def test_unless_mapping_and_list_of_mappings() -> None:
    policy = policy_of(
        rules(
            rule(
                "no-freemail",
                "{recipients: {in: freemail_domains}}",
                "tag",
                "    unless:\n      - {direction: internal}\n"
                "      - {recipients: {in: partners, quantifier: all}}\n",
            )
        )
    )
    partner = analysis(envelope(rcpts=("partner@gmail.com",)))
    assert evaluate_message(policy, *partner).rules == ()
    stranger = analysis(envelope(rcpts=("partner@gmail.com", "x@gmail.com")))
    assert [hit.name for hit in evaluate_message(policy, *stranger).rules] == ["no-freemail"]


def test_envelope_rules_act_at_mail_and_rcpt_and_not_again_after_data() -> None:
    policy = policy_of(
        rules(
            rule("bad-sender", "{sender: {in: freemail_domains}}", "reject"),
            rule("bad-rcpt", "{recipients: {in: freemail_domains}}", "reject"),
            rule("tag-rcpt", "{recipients: {in: freemail_domains}}", "tag"),
        )
    )
    env = envelope("a@thuathienhue.gov.vn", ("x@gmail.com", "b@hue.gov.vn"))
    assert evaluate_sender(policy, env).action is Action.ACCEPT
    assert evaluate_sender(policy, envelope("z@gmail.com")).action is Action.REJECT
    refused = evaluate_recipient(policy, env, "x@gmail.com")
    assert refused.action is Action.REJECT
    assert refused.rules[0].recipients == ("x@gmail.com",)
    assert refused.rules[0].message_en == "refused x@gmail.com"
    assert refused.rules[0].status_code == 550 and refused.rules[0].enhanced_status == "5.7.1"
    assert evaluate_recipient(policy, env, "b@hue.gov.vn").action is Action.ACCEPT
    after_data = evaluate_message(policy, *analysis(env))
    assert [hit.name for hit in after_data.rules] == ["tag-rcpt"]
    assert "bad-rcpt" not in after_data.missed and "bad-sender" not in after_data.missed


def test_transaction_drops_refused_recipients_and_keeps_their_hits() -> None:
    policy = policy_of(
        rules(
            rule("bad-rcpt", "{recipients: {in: freemail_domains}}", "reject"),
            rule("any-freemail-left", "{recipients: {in: freemail_domains}}", "tag"),
        )
    )
    env = envelope("a@thuathienhue.gov.vn", ("x@gmail.com", "b@hue.gov.vn"))
    verdict = evaluate_transaction(policy, *analysis(env))
    assert verdict.action is Action.ACCEPT
    assert [hit.name for hit in verdict.rules] == ["bad-rcpt"]
    only_freemail = evaluate_transaction(policy, *analysis(envelope(rcpts=("x@gmail.com",))))
    assert only_freemail.action is Action.REJECT


def test_transaction_with_every_recipient_refused_ends_as_check_reports_it() -> None:
    """The engine walks the same steps as `tth-gateway check` (`steps.envelope_steps`):
    the client's last RCPT reply is the verdict, with every step's hits."""
    policy = policy_of(
        rules(
            rule("bad-rcpt", "{recipients: {in: freemail_domains}}", "reject"),
            rule("busy-rcpt", "{recipients: {in: official_domains}}", "tempfail"),
        )
    )
    env = envelope("a@thuathienhue.gov.vn", ("x@gmail.com", "b@hue.gov.vn"))
    verdict = evaluate_transaction(policy, *analysis(env))
    steps = envelope_steps(functools.partial(evaluate_sender, policy),
                           functools.partial(evaluate_recipient, policy), env)
    assert (steps.stage, steps.accepted) == ("rcpt", ())
    assert steps.refusal is not None and steps.refusal.action is Action.TEMPFAIL
    assert verdict.action is Action.TEMPFAIL
    assert [hit.name for hit in verdict.rules] == ["bad-rcpt", "busy-rcpt"]


def test_redirect_route_from_rule_or_settings() -> None:
    policy = policy_of(
        rules(
            rule(
                "send-elsewhere",
                "{size: {over: 10}}",
                "redirect",
                "    redirect_to: [review@thuathienhue.gov.vn, 'smtp:[10.0.0.5]:2525']\n",
            )
        )
    )
    verdict = evaluate_message(policy, *analysis())
    assert verdict.action is Action.REDIRECT
    assert verdict.redirect_to == ("review@thuathienhue.gov.vn", "smtp:[10.0.0.5]:2525")


def test_rule_headers_and_documents_header_are_rfc2047_encoded() -> None:
    policy = policy_of(
        rules(
            rule(
                "warn",
                "{signature: {documents: designated, status_not_in: [valid]}}",
                "tag",
                "    headers: {X-TTH-Signature-Warning: 'chữ ký: {documents}'}\n",
            )
        )
    )
    body = dataclasses.replace(document(None, "other"), path="1")
    docs = (
        body,
        document("Giấy mời họp.pdf"),
        document("report.pdf", "bao_cao", SignatureStatus.VALID),
    )
    verdict = evaluate_message(policy, *analysis(direction=Direction.INBOUND, documents=docs))
    assert verdict.action is Action.TAG
    fields = [(name, value) for name, value in verdict.headers]
    assert all(value.isascii() and "\n" not in value for _, value in fields)
    decoded = [(name, str(make_header(decode_header(value)))) for name, value in fields]
    assert decoded[1:] == [
        ("X-TTH-Documents", "Giấy mời họp.pdf giay_moi signature=missing"),
        ("X-TTH-Documents", '"report.pdf" bao_cao signature=valid'),
        ("X-TTH-Signature-Warning", 'chữ ký: "Giấy mời họp.pdf" (giay_moi): signature missing'),
    ]
    assert fields[2][1] == '"report.pdf" bao_cao signature=valid'


def test_direction_from_network_and_recipients() -> None:
    policy = policy_of(rules(rule("x", "{size: {over: 1}}", "tag")))
    assert direction(policy, OUTSIDE_IP, rcpt_tos=("a@hue.gov.vn",)) is Direction.INBOUND
    assert direction(policy, None) is Direction.INBOUND
    assert direction(policy, "10.0.0.1", rcpt_tos=("a@hue.gov.vn",)) is Direction.INTERNAL
    assert direction(policy, "10.0.0.1", rcpt_tos=("a@hue.gov.vn", "b@gmail.com")) is (
        Direction.OUTBOUND
    )
    assert direction(policy, "10.0.0.1") is Direction.OUTBOUND
    assert direction_of(policy, envelope(rcpts=("a@sotttt.thuathienhue.gov.vn",))) is (
        Direction.INTERNAL
    )
