"""The policy decider: the loaded policy, the analysis workers and the trust store together.

`begin()` takes the current policy and trust store once, at MAIL; the whole
transaction is decided under them. The same `PolicyTransaction` serves the
live gateway and `tth-gateway check` (which analyses in-process).
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import re
from dataclasses import dataclass
from typing import Protocol

from gateway.analysis.model import Analysis
from gateway.analysis.pool import AnalysisBusy, AnalysisJob, Unanalysable, analyse_job
from gateway.analysis.walk import NotPlainText
from gateway.auth.stage import Authenticator
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
    """One transaction's decisions under one policy and one trust store; `checkers` is the
    process's checker cache, for the messages analysed in this process."""

    policy: Policy
    signatures: SignatureSetup | None
    runner: AnalysisRunner
    checkers: CheckerCache
    unanalysed: Unanalysed | None = None
    authenticator: Authenticator | None = None

    def sender(self, envelope: Envelope) -> Verdict:
        return evaluate_sender(self.policy, envelope)

    def recipient(self, envelope: Envelope, recipient: str) -> Verdict:
        return evaluate_recipient(self.policy, envelope, recipient)

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
            verdict = evaluate_message(self.policy, transaction, analysis, authentication)
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
                return analyse_job(job, self.checkers, plain_only=True)
            except NotPlainText:
                pass  # something to open or extract: a worker does it, under its limits
        if self.unanalysed is None:
            return await self.runner.run(job)
        digest = await asyncio.to_thread(self.unanalysed.digest, spool)  # off the loop
        known = self.unanalysed.cache.get((digest,))
        if known is not None:
            raise Unanalysable(known[0], f"{known[1]} (remembered: answered without analysis)")
        try:
            return await self.runner.run(job)
        except Unanalysable as exc:
            self.unanalysed.cache.put((digest,), (exc.cause, str(exc)))
            raise


#: Messages of text up to this size are analysed in the gateway's own process.
INLINE_LIMIT = 32 * 1024
#: ... and with at most this many MIME entities (Content-Type fields) and delimiter lines.
INLINE_ENTITIES = 12
INLINE_DELIMITERS = 16
_NOT_TEXT = re.compile(
    rb"^content-type:[ \t]*+(?!text/|multipart/(?:mixed|alternative|related)\b)"  # not text
    rb"|^content-transfer-encoding:[ \t]*+(?!(?:7bit|8bit|base64|quoted-printable)\b)"
    rb"|^content-disposition:|name\*?[0-9]*\*?="  # attachments, named parts
    rb"|^begin [0-7]{3} |%PDF-|PK\x03\x04",  # uuencode, a PDF or ZIP in the raw text
    re.I | re.M,
)
_CONTENT_TYPE = re.compile(rb"^content-type:", re.I | re.M)


def may_analyse_inline(wire: bytes) -> bool:
    """A small message that looks made of text only, plain or base64 or quoted-printable,
    in a few parts: its analysis costs less than the round trip to a worker. The walk
    checks what the encodings hide (`plain_only`): a part that decodes to anything but
    text sends the message to a worker after all, under the time limit."""
    return (len(wire) <= INLINE_LIMIT
            and wire.count(b"\n--") <= INLINE_DELIMITERS
            and len(_CONTENT_TYPE.findall(wire)) <= INLINE_ENTITIES
            and _NOT_TEXT.search(wire) is None)


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

    def begin(self) -> TransactionDecider:
        """Without trust anchors every signature is checked and found `untrusted`."""
        policy = self.policies.current
        trust = None if self.trust is None else self.trust.current
        setup = setup_for(trust, policy.signature_settings)
        return PolicyTransaction(policy, setup, self.runner, self.checkers, self.unanalysed,
                                 self.authenticator)
