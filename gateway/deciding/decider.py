"""The policy decider: the loaded policy, the analysis workers and the trust store together.

`begin()` takes the current policy and trust store once, at MAIL; the whole
transaction is decided under them. The same `PolicyTransaction` serves the
live gateway and `tth-gateway check` (which analyses in-process).
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from dataclasses import dataclass, field
from typing import Protocol

from gateway.analysis.model import Analysis
from gateway.analysis.pool import AnalysisBusy, AnalysisJob, Unanalysable, analyse_job
from gateway.analysis.readings import ReadingCache
from gateway.analysis.walk import NotPlainText
from gateway.auth.stage import Authenticator
from gateway.deciding.bounded import within_time_limit
from gateway.deciding.seam import MessageDecision, TransactionDecider
from gateway.mail.envelope import Direction, Envelope
from gateway.mail.spool import Spool
from gateway.policy.direction import Transaction, transaction_of
from gateway.policy.engine import evaluate_message, evaluate_recipient, evaluate_sender
from gateway.policy.loader import Policy
from gateway.policy.unanalysable import busy_verdict, unanalysable_verdict, unanalysed
from gateway.policy.verdict import Verdict
from gateway.record import metrics
from gateway.reload import Reloadable
from gateway.signatures.cache import VerdictCache
from gateway.signatures.setup import CheckerCache, LoadedTrust, SignatureSetup, setup_for

log = logging.getLogger("gateway.deciding.decider")


class AnalysisRunner(Protocol):
    async def run(self, job: AnalysisJob) -> Analysis: ...


class InlineRunner:
    """Analyses in this process (the `check` command): same function as the workers run,
    with this process's checker cache."""

    def __init__(self, checkers: CheckerCache) -> None:
        self.checkers = checkers

    async def run(self, job: AnalysisJob) -> Analysis:
        return analyse_job(job, self.checkers)


class Unanalysed:
    """Messages whose analysis could not finish, by SHA-256 (bounded, expiring): a retry
    gets the same answer at once instead of another analysis."""

    def __init__(self, entries: int, seconds: float) -> None:
        self.cache: VerdictCache[tuple[str, str]] = VerdictCache(entries, seconds)

    @staticmethod
    def digest(spool: Spool) -> str:
        hasher = hashlib.sha256()
        for chunk in spool.chunks():
            hasher.update(chunk)
        return hasher.hexdigest()


@dataclass(frozen=True, slots=True)
class PolicyTransaction:
    """One transaction's decisions under one policy and one trust store; `checkers` and
    `readings` are the process's checker and reading caches, for the messages analysed in
    this process."""

    policy: Policy
    signatures: SignatureSetup | None
    runner: AnalysisRunner
    checkers: CheckerCache
    unanalysed: Unanalysed | None = None
    authenticator: Authenticator | None = None
    readings: ReadingCache | None = None
    #: The verdicts of this transaction's MAIL and RCPT steps, reported with the message's.
    envelope_steps: list[Verdict] = field(default_factory=list)

    def sender(self, envelope: Envelope) -> Verdict:
        verdict = evaluate_sender(self.policy, envelope)
        self.envelope_steps.append(verdict)
        return verdict

    def recipient(self, envelope: Envelope, recipient: str) -> Verdict:
        verdict = evaluate_recipient(self.policy, envelope, recipient)
        self.envelope_steps.append(verdict)
        return verdict

    def direction(self, envelope: Envelope) -> Direction:
        """Which way a message with `envelope` goes (the policy computes it)."""
        return transaction_of(self.policy, envelope).direction

    async def message(self, envelope: Envelope, spool: Spool) -> MessageDecision:
        """Analysis and sender authentication side by side, then the policy."""
        authenticator = self.authenticator
        transaction = transaction_of(self.policy, envelope)
        direction = transaction.direction
        verifying = (None if authenticator is None
                     else asyncio.ensure_future(authenticator.verify(envelope, direction, spool)))
        try:
            with metrics.STAGE_TIME.labels("analysis").time():
                analysis = await self.analyse(spool)
            authentication = None if verifying is None else await verifying
        except (AnalysisBusy, Unanalysable) as exc:
            return self._not_analysed(transaction, spool, exc)
        finally:
            if verifying is not None and not verifying.done():
                verifying.cancel()
        if analysis.signature_seconds:
            metrics.STAGE_TIME.labels("signatures").observe(analysis.signature_seconds)
        with metrics.STAGE_TIME.labels("policy").time():
            verdict = within_time_limit(
                lambda: evaluate_message(self.policy, transaction, analysis, authentication,
                                         self.envelope_steps))
        _count(analysis)
        officer = self.policy.settings.security_officer
        if authenticator is None:
            return MessageDecision(verdict, analysis, direction=direction,
                                   security_officer=officer)
        verdict = authenticator.with_results(verdict, authentication, envelope)
        return MessageDecision(verdict, analysis, authentication,
                               authenticator.finishing(direction, spool), direction, officer)

    def _not_analysed(self, transaction: Transaction, spool: Spool,
                      exc: AnalysisBusy | Unanalysable) -> MessageDecision:
        """No worker was free (tempfail), or the analysis can never finish (policy's choice)."""
        analysis = unanalysed(spool.size, str(exc))
        officer = self.policy.settings.security_officer
        if isinstance(exc, AnalysisBusy):
            log.warning("analysis busy: %s; tempfail", exc)
            return MessageDecision(busy_verdict(str(exc)), analysis,
                                   direction=transaction.direction, security_officer=officer)
        metrics.UNANALYSABLE.labels(exc.cause).inc()
        log.warning("message not analysable (%s): %s; policy says %s", exc.cause, exc,
                    self.policy.settings.unanalysable)
        return MessageDecision(
            unanalysable_verdict(self.policy.settings, exc.cause, str(exc)), analysis,
            direction=transaction.direction, security_officer=officer)

    async def analyse(self, spool: Spool) -> Analysis:
        """The full analysis, unless no rule of the policy looks at the message at all."""
        if not self.policy.message_rules:
            return Analysis(size=spool.size)
        path = spool.path()
        job = AnalysisJob(
            settings=self.policy.analysis_settings,
            signatures=self.signatures,
            message=None if path is not None else spool.getvalue(),
            path=path,
        )
        if job.message is not None and may_analyse_inline(job.message):
            try:
                return analyse_job(job, self.checkers, self.readings, plain_only=True)
            except NotPlainText:
                pass  # something to open or extract: a worker does it, under its limits
        if self.unanalysed is None:
            return await self.runner.run(job)
        digest = None
        if len(self.unanalysed.cache):  # with nothing remembered, hash only after a failure
            digest = await asyncio.to_thread(self.unanalysed.digest, spool)  # off the loop
            known = self.unanalysed.cache.get((digest,))
            if known is not None:
                raise Unanalysable(known[0],
                                   f"{known[1]} (remembered: answered without analysis)")
        try:
            return await self.runner.run(job)
        except Unanalysable as exc:
            if digest is None:
                digest = await asyncio.to_thread(self.unanalysed.digest, spool)
            self.unanalysed.cache.put((digest,), (exc.cause, str(exc)))
            raise


#: Messages of text up to this size are analysed in the gateway's own process.
INLINE_LIMIT = 32 * 1024
#: ... and with at most this many MIME entities (Content-Type fields) and delimiter lines.
INLINE_ENTITIES = 12
INLINE_DELIMITERS = 16
_TEXT_MULTIPARTS = (b"multipart/mixed", b"multipart/alternative", b"multipart/related")
_TEXT_ENCODINGS = (b"7bit", b"8bit", b"base64", b"quoted-printable")
_WORD = b"abcdefghijklmnopqrstuvwxyz0123456789_"  # what \b sees in lower-cased ASCII
_DIGITS = b"0123456789"
_OCTAL = b"01234567"


def may_analyse_inline(wire: bytes) -> bool:
    """A small message that looks made of text only, plain or base64 or quoted-printable,
    in a few parts: its analysis costs less than the round trip to a worker. The walk
    checks what the encodings hide (`plain_only`): a part that decodes to anything but
    text sends the message to a worker after all, under the time limit."""
    if len(wire) > INLINE_LIMIT or wire.count(b"\n--") > INLINE_DELIMITERS:
        return False
    lower = wire.lower()  # header names and values compare in ASCII, case-insensitively
    types = _values(lower, b"content-type:")
    return (len(types) <= INLINE_ENTITIES
            and all(lower.startswith(b"text/", at) or _word_at(lower, at, _TEXT_MULTIPARTS)
                    for at in types)
            and all(_word_at(lower, at, _TEXT_ENCODINGS)
                    for at in _values(lower, b"content-transfer-encoding:"))
            and not _line_starts(lower, b"content-disposition:")
            and not any(_uuencode(lower, at) for at in _line_starts(lower, b"begin "))
            and b"%pdf-" not in lower and b"pk\x03\x04" not in lower
            and not _named(lower))


def _line_starts(lower: bytes, prefix: bytes) -> list[int]:
    """Where the lines of `lower` that begin with `prefix` go on after it."""
    found = [len(prefix)] if lower.startswith(prefix) else []
    needle = b"\n" + prefix
    at = lower.find(needle)
    while at >= 0:
        found.append(at + len(needle))
        at = lower.find(needle, at + 1)
    return found


def _values(lower: bytes, name: bytes) -> list[int]:
    """Where the values of the header lines `name` start, past spaces and tabs."""
    starts = []
    for at in _line_starts(lower, name):
        while lower[at:at + 1] in (b" ", b"\t"):
            at += 1
        starts.append(at)
    return starts


def _word_at(lower: bytes, at: int, words: tuple[bytes, ...]) -> bool:
    """One of `words`, whole (as regular expressions' \\b mean it), starts at `at`."""
    for word in words:
        end = at + len(word)
        if lower.startswith(word, at) and (end == len(lower) or lower[end] not in _WORD):
            return True
    return False


def _uuencode(lower: bytes, at: int) -> bool:
    """A uuencode header ("begin 644 ") goes on at `at`."""
    mode = lower[at:at + 4]
    return len(mode) == 4 and all(c in _OCTAL for c in mode[:3]) and mode[3] == ord(" ")


def _named(lower: bytes) -> bool:
    """A name parameter, plain or RFC 2231: "name=", "name*=", "name*0*=" ..."""
    at = lower.find(b"name")
    while at >= 0:
        end = at + 4
        end += lower.startswith(b"*", end)
        while lower[end:end + 1] and lower[end] in _DIGITS:
            end += 1
        end += lower.startswith(b"*", end)
        if lower.startswith(b"=", end):
            return True
        at = lower.find(b"name", at + 1)
    return False


def _count(analysis: Analysis) -> None:
    for document in analysis.documents:
        metrics.DOCUMENTS.labels(document.doc_type, document.signature.status.value).inc()
    if analysis.classification is not None:
        metrics.CLASSIFIED.labels(analysis.classification.value).inc()


class PolicyDecider:
    """Hands each transaction the policy and trust store current at its MAIL."""

    def __init__(
        self,
        policies: Reloadable[Policy],
        trust: Reloadable[LoadedTrust] | None,
        runner: AnalysisRunner,
        unanalysed: Unanalysed | None = None,
        authenticator: Authenticator | None = None,
    ) -> None:
        self.policies = policies
        self.trust = trust
        self.runner = runner
        self.unanalysed = unanalysed
        self.authenticator = authenticator
        self.checkers = CheckerCache()  # this process's, for the messages analysed in it
        self.readings = ReadingCache()  # the same: the small text messages it read

    def begin(self) -> TransactionDecider:
        """Without trust anchors every signature is checked and found `untrusted`."""
        policy = self.policies.current
        trust = None if self.trust is None else self.trust.current
        setup = setup_for(trust, policy.signature_settings)
        return PolicyTransaction(policy, setup, self.runner, self.checkers, self.unanalysed,
                                 self.authenticator, self.readings)
