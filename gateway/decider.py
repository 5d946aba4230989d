"""The policy decider: the loaded policy, the analysis workers and the trust store together.

`begin()` takes the current policy and trust store once, at MAIL; the whole
transaction is decided under them. The same `PolicyTransaction` serves the
live gateway and `tth-gateway check` (which analyses in-process).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Protocol

from gateway import metrics
from gateway.analysis.model import Analysis, Envelope
from gateway.analysis.pool import AnalysisJob, analyse_job
from gateway.analysis.worker import LoadedTrust, SignatureSetup
from gateway.pipeline import MessageDecision, TransactionDecider
from gateway.policy.engine import (
    direction_of,
    evaluate_message,
    evaluate_recipient,
    evaluate_sender,
)
from gateway.policy.loader import Policy
from gateway.policy.verdict import Verdict
from gateway.reload import Reloadable
from gateway.signatures.trust import TrustSources
from gateway.smtp.spool import Spool


class AnalysisRunner(Protocol):
    async def run(self, job: AnalysisJob) -> Analysis: ...


class InlineRunner:
    """Analyses in this process (the `check` command): same function as the workers run."""

    async def run(self, job: AnalysisJob) -> Analysis:
        return analyse_job(job)


@dataclass(frozen=True, slots=True)
class PolicyTransaction:
    """One transaction's decisions under one policy and one trust store."""

    policy: Policy
    signatures: SignatureSetup | None
    runner: AnalysisRunner

    def sender(self, envelope: Envelope) -> Verdict:
        return evaluate_sender(self.policy, envelope)

    def recipient(self, envelope: Envelope, recipient: str) -> Verdict:
        return evaluate_recipient(self.policy, envelope, recipient)

    async def message(self, envelope: Envelope, spool: Spool) -> MessageDecision:
        with metrics.STAGE_TIME.labels("analysis").time():
            analysis = await self.analyse(envelope, spool)
        if analysis.signature_seconds:
            metrics.STAGE_TIME.labels("signatures").observe(analysis.signature_seconds)
        with metrics.STAGE_TIME.labels("policy").time():
            verdict = evaluate_message(self.policy, analysis)
        _count(analysis)
        return MessageDecision(verdict, analysis)

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
        if job.message is not None and is_small_plain_text(job.message):
            return analyse_job(job)
        return await self.runner.run(job)


#: Plain-text messages up to this size are analysed in the gateway's own process.
INLINE_LIMIT = 32 * 1024
_NOT_PLAIN = re.compile(
    rb"^content-type:[ \t]*+(?!text/)"  # any part that is not text
    rb"|^content-transfer-encoding:[ \t]*+(?!7bit|8bit)"  # base64, quoted-printable
    rb"|^content-disposition:|name\*?="  # attachments, named parts
    rb"|^begin [0-7]{3} |%PDF-|PK\x03\x04",  # uuencode, a PDF or ZIP in the raw text
    re.I | re.M,
)


def is_small_plain_text(wire: bytes) -> bool:
    """A small message of plain, unencoded text with no attachment, archive, PDF or
    S/MIME: its analysis is a scan of a few kilobytes of text, well under a millisecond,
    cheaper than the round trip to a worker process. Anything else goes to a worker,
    under the time limit."""
    return len(wire) <= INLINE_LIMIT and _NOT_PLAIN.search(wire) is None


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
    ) -> None:
        self.policies = policies
        self.trust = trust
        self.runner = runner

    def begin(self) -> TransactionDecider:
        """Without trust anchors every signature is checked and found `untrusted`."""
        policy = self.policies.current
        if self.trust is None:
            setup = SignatureSetup(NO_TRUST, "no-trust-anchors", policy.signature_settings)
        else:
            trust = self.trust.current
            setup = SignatureSetup(trust.sources, trust.generation, policy.signature_settings,
                                   trust.snapshot)
        return PolicyTransaction(policy, setup, self.runner)


NO_TRUST = TrustSources(anchors=None, intermediates=None, crls=None)
