"""`tth-gateway check MESSAGE.eml`: the verdict the live gateway would give, and why.

The same `PolicyTransaction` as the live gateway decides, step by step: MAIL,
each RCPT, then the message; only the analysis runs in this process.
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass, field, replace
from email import policy
from email.parser import BytesParser
from email.utils import getaddresses
from typing import Any

from gateway.auth.results import authentication_line
from gateway.config import ServerSettings
from gateway.deciding.decider import PolicyTransaction
from gateway.deciding.report import rule_json, verdict_json
from gateway.deciding.seam import MessageDecision
from gateway.mail.envelope import Envelope
from gateway.mail.ownheaders import HeaderFilter
from gateway.mail.spool import Spool, stuff
from gateway.policy.steps import envelope_steps
from gateway.policy.verdict import Action, Verdict
from gateway.smtp.dataread import DataProblem, DataResult, read_data

#: Exit status of `check` for each action (2 is kept for usage and configuration errors).
EXIT_CODES = {
    Action.ACCEPT: 0,
    Action.TAG: 1,
    Action.REDIRECT: 3,
    Action.QUARANTINE: 4,
    Action.TEMPFAIL: 5,
    Action.REJECT: 6,
}

_RECEIVED_IP = re.compile(r"\[(?:IPv6:)?([0-9A-Fa-f:.]+)\]")


@dataclass(frozen=True, slots=True)
class CheckResult:
    """The outcome of each SMTP step and the final action the client would see.

    `stage` is the step that decided (`mail`, `rcpt`, `data`); `message` holds the
    analysis even when the envelope was refused (its verdict is then that refusal).
    """

    envelope: Envelope
    sender: Verdict
    recipients: tuple[tuple[str, Verdict], ...]
    message: MessageDecision | None
    final: Verdict = field(default_factory=Verdict)
    data_problem: str | None = None
    failure: str | None = None
    stage: str = "data"

    @property
    def exit_code(self) -> int:
        return EXIT_CODES[self.final.action]


def wire_form(raw: bytes) -> bytes:
    """A saved message as it would travel in DATA: CRLF line ends, dot-stuffed."""
    return stuff(re.sub(rb"\r?\n", b"\r\n", raw))


def envelope_from_headers(
    raw: bytes, mail_from: str | None, rcpts: list[str], client_ip: str | None
) -> Envelope:
    """The flags where given; otherwise Sender/From, To/Cc/Bcc and the last Received hop."""
    headers = BytesParser(policy=policy.compat32).parsebytes(raw, headersonly=True)
    if mail_from is None:
        senders = getaddresses(headers.get_all("Sender", []) or headers.get_all("From", []))
        mail_from = senders[0][1] if senders else ""
    if not rcpts:
        fields = [*headers.get_all("To", []), *headers.get_all("Cc", []),
                  *headers.get_all("Bcc", [])]
        rcpts = [address for _, address in getaddresses(fields) if address]
    if client_ip is None:
        received = headers.get("Received")
        found = _RECEIVED_IP.search(str(received)) if received else None
        client_ip = found.group(1) if found else None
    utf8 = any(byte > 127 for byte in mail_from.encode()) or any(
        not rcpt.isascii() for rcpt in rcpts
    )
    return Envelope(mail_from=mail_from, rcpt_tos=tuple(rcpts), client_ip=client_ip,
                    smtputf8=utf8)


async def run_check(transaction: PolicyTransaction, envelope: Envelope, raw: bytes,
                    server: ServerSettings) -> CheckResult:
    """MAIL, each RCPT, then DATA, as the live gateway runs them.

    Where the live gateway stops (a refused sender, every recipient refused),
    `check` still reads and analyses the message, without judging it again, so
    that the verdict reports the whole analysis with the stage that decided.
    """
    steps = envelope_steps(transaction.sender, transaction.recipient, envelope)
    refusal = steps.refusal
    done = CheckResult(envelope, steps.sender, steps.recipients, None, refusal or Verdict(),
                       stage=steps.stage)
    spool = Spool(threshold=1 << 62)
    data = await _read_as_data(wire_form(raw), spool, server, envelope.smtputf8)
    if data.problem is not DataProblem.NONE:
        return replace(done, final=refusal or Verdict(Action.REJECT),
                       data_problem=data.problem.name.lower())
    delivered = replace(envelope, rcpt_tos=steps.accepted or envelope.rcpt_tos)
    try:
        if refusal is not None:
            analysis = await transaction.analyse(spool)
            return replace(done, message=MessageDecision(
                refusal, analysis, direction=transaction.direction(delivered),
                security_officer=transaction.policy.settings.security_officer))
        decision = await transaction.message(delivered, spool)
    except Exception as exc:
        return replace(done, final=refusal or Verdict(Action.TEMPFAIL),
                       failure=f"{type(exc).__name__}: {exc}")
    return replace(done, message=decision, final=decision.verdict)


async def _read_as_data(wire: bytes, spool: Spool, server: ServerSettings,
                        utf8: bool) -> DataResult:
    """The live gateway's DATA reader and its checks (size, line length, bare CR, NUL,
    8-bit headers, the gateway's own header namespace) over the message, as if a client
    had sent it."""
    reader = asyncio.StreamReader()
    reader.feed_data(wire + b".\r\n")
    reader.feed_eof()
    return await read_data(
        reader, spool, max_size=server.max_message_size, max_line=server.max_line_length,
        check_header_8bit=server.eight_bit_headers == "reject" and not utf8,
        on_block=lambda: None, headers=HeaderFilter(server.own_headers.namespace()),
    )


def check_message(transaction: PolicyTransaction, envelope: Envelope, raw: bytes,
                  server: ServerSettings) -> CheckResult:
    return asyncio.run(run_check(transaction, envelope, raw, server))


#: The keys `check --json` adds to the verdict's, each always present.
CHECK_KEYS = ("data_problem", "failure", "envelope", "stages")


def result_json(result: CheckResult) -> dict[str, Any]:
    """DESIGN.md's verdict JSON (the same keys at every stage), plus what only `check`
    knows: a DATA problem or analysis failure, the envelope, the envelope-stage hits."""
    analysis = result.message.analysis if result.message else None
    authentication = result.message.authentication if result.message else None
    direction = result.message.direction if result.message else None
    body = verdict_json(result.final, analysis, result.stage, authentication, direction)
    body["data_problem"] = result.data_problem
    body["failure"] = result.failure
    body["envelope"] = {
        "mail_from": result.envelope.mail_from,
        "rcpt_tos": list(result.envelope.rcpt_tos),
        "client_ip": result.envelope.client_ip,
    }
    body["stages"] = {
        "mail": [rule_json(hit) for hit in result.sender.rules],
        "rcpt": {rcpt: {"action": verdict.action.value,
                        "rules": [rule_json(hit) for hit in verdict.rules]}
                 for rcpt, verdict in result.recipients},
    }
    return body


def result_table(result: CheckResult) -> str:
    """The readable form of `check`."""
    body = result_json(result)
    lines = [
        f"action:          {body['action']}  (exit {result.exit_code}, "
        f"decided at {body['stage'].upper()})",
        f"envelope:        {result.envelope.mail_from or '<>'} -> "
        f"{', '.join(result.envelope.rcpt_tos) or '-'}  client {result.envelope.client_ip or '-'}",
    ]
    if result.data_problem is not None:
        lines.append(f"refused at DATA:  {result.data_problem} (before any policy)")
    if result.failure is not None:
        lines.append(f"tempfail:        analysis failed: {result.failure}")
    if body["direction"] is not None:
        lines.append(f"direction:       {body['direction']}")
        lines.append(f"classification:  {body['classification'] or '-'}")
    if body.get("authentication"):
        lines.append(f"authentication:  {authentication_line(body['authentication'])}")
    for rcpt, verdict in result.recipients:
        if verdict.rules:
            names = ", ".join(hit.name for hit in verdict.rules)
            lines.append(f"RCPT {rcpt}: {verdict.action.value} ({names})")
    for document in body["documents"]:
        signature = document["signature"]
        lines.append(
            f"document:        {document['filename'] or document['path']}  "
            f"type={document['doc_type']}  classification={document['classification'] or '-'}"
            f"  signature={signature['status']}"
            + (f"  uninspectable={document['uninspectable']}" if document["uninspectable"] else "")
        )
        for one in signature["signatures"]:
            who = one["signer"] or {}
            lines.append(
                f"  signed by {who.get('common_name') or '?'} ({who.get('organization') or '-'})"
                f"  {one['status']}  {one['detail']}".rstrip()
            )
    for marking in body["markings"]:
        lines.append(f"marking:         {marking['stamp']} ({marking['level']}) in "
                     f"{marking['where']}")
    for rule in body["rules"]:
        lines.append(f"rule:            {rule['name']}  {rule['action']} [{rule['mode']}]  "
                     f"{rule['reason']}")
    if not body["rules"]:
        lines.append("rule:            (none matched)")
    return "\n".join(lines)
