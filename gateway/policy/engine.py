"""Rule evaluation: pure functions from the envelope or the analysis to a `Verdict`.

How rules combine (deterministic):
- Rules are tried in policy order (files by name, rules as written).
- Every matching rule becomes a `RuleHit` in `Verdict.rules`; every rule tried
  that did not match is named in `Verdict.missed`.
- Monitor-mode hits are recorded but never change the action and never stop.
- The action is the strongest of the enforce-mode hits, by `Action.strength`
  (accept < tag < redirect < quarantine < tempfail < reject); on a tie the
  earliest rule decides. No enforce hit: `accept`.
- An enforce-mode hit of a rule with `stop: true` ends the evaluation of
  that step; the rules after it are neither tried nor reported (an `accept`
  with `stop` is an allow-list entry placed before the rules it exempts from).
  It cannot undo what an earlier step (MAIL, RCPT) already refused.

Stages: a rule whose conditions are all decidable before DATA and whose
action is a refusal (reject, tempfail) is an *envelope rule*. It is tried at
MAIL (when it needs only the sender and client) or at RCPT (once per
recipient, refusing only that recipient) and never again after DATA: the
recipients still present at DATA passed it, and a refused sender never gets
to DATA. Every other rule is tried once, after DATA, by `evaluate_message`.
`evaluate_transaction` runs the three steps in order, as the live gateway
does, over the walk of the envelope steps that `tth-gateway check` makes too
(`steps.envelope_steps`).

A condition that raises is not caught here: the caller fails closed
(tempfail), as the SMTP layer's `TransactionDecider` contract says.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Iterable, Sequence

from gateway.analysis.model import Analysis
from gateway.auth.results import Authentication
from gateway.mail.addresses import MailAddress
from gateway.mail.envelope import Direction, Envelope
from gateway.policy.conditions.base import Facts, Match
from gateway.policy.direction import Transaction, direction, transaction_of
from gateway.policy.lists import envelope_address, parse_ip
from gateway.policy.loader import Policy
from gateway.policy.rules import DEFAULT_STATUS, Rule
from gateway.policy.steps import envelope_steps
from gateway.policy.summary import document_headers, encode, result_value
from gateway.policy.verdict import Action, Mode, RuleHit, Verdict
from gateway.policy.wording import Evidence, joined


def direction_of(policy: Policy, envelope: Envelope) -> Direction:
    """The direction of a whole transaction (client network and every recipient)."""
    return transaction_of(policy, envelope).direction


def evaluate_sender(policy: Policy, envelope: Envelope) -> Verdict:
    """The verdict at MAIL FROM: envelope rules that need only the client and the sender."""
    facts = _facts(policy, envelope, (), direction(policy, envelope.client_ip))
    return _decide(policy, policy.sender_rules, facts)


def evaluate_recipient(policy: Policy, envelope: Envelope, rcpt: str) -> Verdict:
    """The verdict for one RCPT TO: envelope rules that need the recipient (and its direction)."""
    way = direction(policy, envelope.client_ip, rcpt_tos=(rcpt,))
    facts = _facts(policy, envelope, (rcpt,), way)
    return _decide(policy, policy.recipient_rules, facts)


def evaluate_message(policy: Policy, transaction: Transaction, analysis: Analysis,
                     authentication: Authentication | None = None,
                     earlier: Sequence[Verdict] = ()) -> Verdict:
    """The verdict after DATA: every rule that is not an envelope rule, and the result headers.
    `transaction` is the envelope and its direction (`transaction_of`), `analysis` what the
    message contains, `authentication` the sender authentication of mail from outside
    (None otherwise), `earlier` the verdicts of its MAIL and RCPT steps: their monitor
    hits and the rules they tried in vain are reported with the message's own."""
    envelope = transaction.envelope
    facts = dataclasses.replace(
        _facts(policy, envelope, envelope.rcpt_tos, transaction.direction, analysis),
        authentication=authentication,
    )
    verdict = _with_earlier(_decide(policy, policy.message_rules, facts), earlier)
    return dataclasses.replace(verdict,
                               headers=_headers(policy, verdict, analysis, authentication))


def _with_earlier(verdict: Verdict, earlier: Sequence[Verdict]) -> Verdict:
    """`verdict` with the monitor hits of the envelope steps that let the transaction on,
    and their missed rules, first (a rule tried at each RCPT named once). A step that
    refused is reported at its own reply: its recipient is not the message's."""
    if not earlier:
        return verdict
    monitored = tuple(hit for step in earlier if step.action is Action.ACCEPT
                      for hit in step.rules if hit.mode is Mode.MONITOR)
    missed = tuple(dict.fromkeys(name for step in earlier for name in step.missed))
    return dataclasses.replace(verdict, rules=(*monitored, *verdict.rules),
                               missed=tuple(dict.fromkeys((*missed, *verdict.missed))))


def evaluate_transaction(policy: Policy, transaction: Transaction, analysis: Analysis,
                         authentication: Authentication | None = None) -> Verdict:
    """MAIL, each RCPT, then DATA, as the live gateway would (`steps.envelope_steps`, the
    walk `check` makes): a refusal before DATA is the verdict, with every step's hits;
    otherwise the message is judged with the recipients that were accepted."""
    envelope = transaction.envelope
    steps = envelope_steps(functools.partial(evaluate_sender, policy),
                           functools.partial(evaluate_recipient, policy), envelope)
    if steps.refusal is not None:
        return dataclasses.replace(steps.refusal, rules=steps.rules, missed=steps.missed)
    remaining = dataclasses.replace(envelope, rcpt_tos=steps.accepted)
    message = evaluate_message(policy, dataclasses.replace(transaction, envelope=remaining),
                               analysis, authentication)
    return dataclasses.replace(message, rules=(*steps.rules, *message.rules),
                               missed=(*steps.missed, *message.missed))


def _facts(
    policy: Policy,
    envelope: Envelope,
    rcpts: Sequence[str],
    way: Direction,
    analysis: Analysis | None = None,
) -> Facts:
    return Facts(
        direction=way,
        client_ip=parse_ip(envelope.client_ip),
        sender=envelope_address(envelope.mail_from),
        recipients=tuple((text, envelope_address(text)) for text in rcpts),
        analysis=analysis,
    )


def _decide(policy: Policy, rules: Iterable[Rule], facts: Facts) -> Verdict:
    hits: list[RuleHit] = []
    missed: list[str] = []
    deciding: tuple[RuleHit, Rule] | None = None
    for rule in rules:
        found = rule.match(facts)
        if found is None:
            missed.append(rule.name)
            continue
        hit = _hit(policy, rule, found, facts)
        hits.append(hit)
        if rule.mode is Mode.MONITOR:
            continue
        if deciding is None or hit.action.strength > deciding[0].action.strength:
            deciding = (hit, rule)
        if rule.stop:
            break
    if deciding is None:
        return Verdict(rules=tuple(hits), missed=tuple(missed))
    hit, rule = deciding
    return Verdict(
        action=hit.action,
        rules=tuple(hits),
        redirect_to=_redirect(policy, rule) if hit.action is Action.REDIRECT else (),
        deciding_rule=hit,
        missed=tuple(missed),
    )


def _redirect(policy: Policy, rule: Rule) -> tuple[str, ...]:
    return rule.redirect_to or policy.settings.redirect_to


def _hit(policy: Policy, rule: Rule, found: list[Match], facts: Facts) -> RuleHit:
    """The hit of a matching rule. `{reason}` and `{documents}` speak the language of the
    template: Vietnamese in `message_vi`, English in `message_en` and in header fields
    (which may use `{reason_vi}` / `{documents_vi}` too)."""
    reason = joined(match.evidence for match in found)
    recipients = tuple(dict.fromkeys(r for match in found for r in match.recipients))
    documents = tuple(dict.fromkeys(d for match in found for d in match.documents))
    values = _template_values(policy, rule, facts, reason, recipients, documents)
    values_vi = {**values, "reason": reason.vi, "documents": values["documents_vi"]}
    code, enhanced = DEFAULT_STATUS.get(rule.action, (None, None))
    return RuleHit(
        name=rule.name,
        action=rule.action,
        mode=rule.mode,
        reason=reason.en,
        reason_vi=reason.vi,
        status_code=rule.status_code or code,
        enhanced_status=rule.enhanced_status or enhanced,
        message_vi=rule.message_vi.format_map(values_vi),
        message_en=rule.message_en.format_map(values),
        notify=_notify(policy, rule, facts),
        recipients=recipients,
        documents=tuple(document.en for document in documents),
        headers=tuple((name, encode(text.format_map(values))) for name, text in rule.headers),
    )


def _template_values(
    policy: Policy,
    rule: Rule,
    facts: Facts,
    reason: Evidence,
    recipients: tuple[str, ...],
    documents: tuple[Evidence, ...],
) -> dict[str, str]:
    settings = policy.settings
    return {
        "rule": rule.name,
        "reason": reason.en,
        "reason_vi": reason.vi,
        "reason_en": reason.en,
        "recipients": ", ".join(recipients),
        "documents": "; ".join(document.en for document in documents),
        "documents_vi": "; ".join(document.vi for document in documents),
        "documents_en": "; ".join(document.en for document in documents),
        "sender": str(facts.sender) if facts.sender is not None else "",
        "directive_vi": settings.directive_vi,
        "directive_en": settings.directive_en,
        "security_officer": settings.security_officer or "",
    }


def _notify(policy: Policy, rule: Rule, facts: Facts) -> tuple[str, ...]:
    """Notify targets as addresses: `sender` (not `<>`), `security_officer`, `recipients`."""
    found: list[str] = []
    for target in rule.notify:
        if target == "sender":
            found.extend(_addresses([facts.sender]))
        elif target == "recipients":
            found.extend(_addresses(address for _, address in facts.recipients))
        elif target == "security_officer":
            found.extend([policy.settings.security_officer or ""])
        else:
            found.extend(_addresses([envelope_address(target)]))
    return tuple(dict.fromkeys(address for address in found if address))


def _addresses(addresses: Iterable[MailAddress | None]) -> list[str]:
    return [str(a) for a in addresses if a is not None and not a.is_null]


def _headers(policy: Policy, verdict: Verdict, analysis: Analysis,
             authentication: Authentication | None) -> tuple[tuple[str, str], ...]:
    settings = policy.settings
    summary = result_value(verdict.action, verdict.rules, policy.generation.short,
                           authentication.summary() if authentication else None)
    rule_headers = [
        field for hit in verdict.rules if hit.mode is Mode.ENFORCE for field in hit.headers
    ]
    return (
        (settings.result_header, summary),
        *document_headers(settings.documents_header, analysis),
        *rule_headers,
    )
