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

from gateway import metrics
from gateway.analysis.model import Analysis, Direction, Envelope
from gateway.analysis.pool import AnalysisBusy, AnalysisJob, Unanalysable, analyse_job
from gateway.analysis.walk import NotPlainText
from gateway.analysis.worker import LoadedTrust, SignatureSetup
from gateway.auth.stage import Authenticator
from gateway.pipeline import MessageDecision, TransactionDecider
from gateway.policy.engine import (
    direction_of,
    evaluate_message,
    evaluate_recipient,
    evaluate_sender,
)
from gateway.policy.loader import Policy
from gateway.policy.unanalysable import busy_verdict, unanalysable_verdict, unanalysed
from gateway.policy.verdict import Verdict
from gateway.reload import Reloadable
from gateway.signatures.cache import VerdictCache
from gateway.signatures.trust import TrustSources
from gateway.smtp.spool import Spool

log = logging.getLogger("gateway.decider")


class AnalysisRunner(Protocol):
    async def run(self, job: AnalysisJob) -> Analysis: ...


class InlineRunner:
    """Analyses in this process (the `check` command): same function as the workers run."""

    async def run(self, job: AnalysisJob) -> Analysis:
        return analyse_job(job)


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
    """One transaction's decisions under one policy and one trust store."""

    policy: Policy
    signatures: SignatureSetup | None
    runner: AnalysisRunner
    unanalysed: Unanalysed | None = None
    authenticator: Authenticator | None = None

    def sender(self, envelope: Envelope) -> Verdict:
        return evaluate_sender(self.policy, envelope)

    def recipient(self, envelope: Envelope, recipient: str) -> Verdict:
        return evaluate_recipient(self.policy, envelope, recipient)

    async def message(self, envelope: Envelope, spool: Spool) -> MessageDecision:
        """Analysis and sender authentication side by side, then the policy."""
        authenticator = self.authenticator
        direction = direction_of(self.policy, envelope)
        verifying = (None if authenticator is None
                     else asyncio.ensure_future(authenticator.verify(envelope, direction, spool)))
        try:
            with metrics.STAGE_TIME.labels("analysis").time():
                analysis = await self.analyse(envelope, spool)
            authentication = None if verifying is None else await verifying
        except (AnalysisBusy, Unanalysable) as exc:
            return self._not_analysed(envelope, direction, spool, exc)
        finally:
            if verifying is not None and not verifying.done():
                verifying.cancel()
        if analysis.signature_seconds:
            metrics.STAGE_TIME.labels("signatures").observe(analysis.signature_seconds)
        with metrics.STAGE_TIME.labels("policy").time():
            verdict = evaluate_message(self.policy, analysis, authentication)
        _count(analysis)
        if authenticator is None:
            return MessageDecision(verdict, analysis)
        verdict = authenticator.with_results(verdict, authentication, envelope)
        return MessageDecision(verdict, analysis, authentication,
                               authenticator.finishing(direction, spool))

    def _not_analysed(self, envelope: Envelope, direction: Direction, spool: Spool,
                      exc: AnalysisBusy | Unanalysable) -> MessageDecision:
        """No worker was free (tempfail), or the analysis can never finish (policy's choice)."""
        analysis = unanalysed(envelope, direction, spool.size, str(exc))
        if isinstance(exc, AnalysisBusy):
            log.warning("analysis busy: %s; tempfail", exc)
            return MessageDecision(busy_verdict(str(exc)), analysis)
        metrics.UNANALYSABLE.labels(exc.cause).inc()
        log.warning("message not analysable (%s): %s; policy says %s", exc.cause, exc,
                    self.policy.settings.unanalysable)
        return MessageDecision(
            unanalysable_verdict(self.policy.settings, exc.cause, str(exc)), analysis)

    async def analyse(self, envelope: Envelope, spool: Spool) -> Analysis:
        """The full analysis, unless no rule of the policy looks at the message at all."""
        direction = direction_of(self.policy, envelope)
        if not self.policy.message_rules:
            return Analysis(envelope=envelope, direction=direction, size=spool.size)
        path = spool.path()
        job = AnalysisJob(
            envelope=envelope,
            direction=direction,
            settings=self.policy.analysis_settings,
            signatures=self.signatures,
            message=None if path is not None else spool.getvalue(),
            path=path,
        )
        if job.message is not None and may_analyse_inline(job.message):
            try:
                return analyse_job(job, plain_only=True)
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

    def begin(self) -> TransactionDecider:
        """Without trust anchors every signature is checked and found `untrusted`."""
        policy = self.policies.current
        if self.trust is None:
            setup = SignatureSetup(NO_TRUST, "no-trust-anchors", policy.signature_settings)
        else:
            trust = self.trust.current
            setup = SignatureSetup(trust.sources, trust.generation, policy.signature_settings,
                                   trust.snapshot)
        return PolicyTransaction(policy, setup, self.runner, self.unanalysed, self.authenticator)


NO_TRUST = TrustSources(anchors=None, intermediates=None, crls=None)
