"""What runs inside an analysis worker: the signature checker for the job's trust store,
then the analysis of the message."""

from __future__ import annotations

from dataclasses import dataclass

from gateway.analysis.analyse import analyse
from gateway.analysis.model import Analysis, Direction, Envelope
from gateway.analysis.settings import AnalysisSettings
from gateway.config import Settings
from gateway.signatures.checker import checker_for_process
from gateway.signatures.settings import SignatureSettings
from gateway.signatures.trust import TrustSources


@dataclass(frozen=True, slots=True)
class SignatureSetup:
    """The trust store's files (with the fingerprint they had when loaded) and the policy's
    signature settings: enough for a worker process to build, once, its checker."""

    sources: TrustSources
    generation: str
    settings: SignatureSettings


def signature_setup(settings: Settings, signature_settings: SignatureSettings) -> SignatureSetup:
    """The setup for `check`, from the deployment settings (and flags)."""
    from gateway.reload import fingerprint

    trust = settings.trust
    sources = TrustSources(anchors=trust.anchors, intermediates=trust.intermediates,
                           crls=trust.crls)
    stamp = fingerprint([trust.anchors, trust.intermediates, trust.crls])
    return SignatureSetup(sources, stamp, signature_settings)


def run_analysis(
    message: bytes,
    envelope: Envelope,
    direction: Direction,
    settings: AnalysisSettings,
    signatures: SignatureSetup | None,
) -> Analysis:
    checker = (
        None if signatures is None
        else checker_for_process(signatures.sources, signatures.settings, signatures.generation)
    )
    return analyse(message, envelope, direction, settings, checker)
