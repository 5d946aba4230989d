"""What runs inside an analysis worker: the signature checker for the job's trust store,
then the analysis of the message."""

from __future__ import annotations

import pickle
from dataclasses import dataclass, replace
from pathlib import Path

from gateway.analysis.analyse import analyse
from gateway.analysis.extract.cache import TextCache
from gateway.analysis.model import Analysis, Direction, Envelope
from gateway.analysis.settings import AnalysisSettings
from gateway.analysis.timing import TimedChecking
from gateway.config import Settings
from gateway.signatures.checker import SignatureChecker, checker_for_process
from gateway.signatures.settings import SignatureSettings
from gateway.signatures.trust import TrustMaterial, TrustSources


@dataclass(frozen=True, slots=True)
class SignatureSetup:
    """What a worker process needs to build, once, its signature checker: the trust
    store's files, the generation of what was loaded from them, the policy's signature
    settings, and `snapshot`, the file holding the loaded certificates and CRLs (the last
    good trust store, even if the files were edited since); without a snapshot the
    worker reads `sources` itself."""

    sources: TrustSources
    generation: str
    settings: SignatureSettings
    snapshot: Path | None = None


@dataclass(frozen=True, slots=True)
class LoadedTrust:
    """A trust store loaded from `sources`: its content `generation` and the snapshot file
    of what was loaded, which the analysis workers build their checkers from."""

    sources: TrustSources
    generation: str
    snapshot: Path


#: This process's documents read before (their texts, by the hash of their bytes).
_TEXTS = TextCache()
#: This process's checker built from a snapshot, by (generation, settings).
_SNAPSHOT_CHECKER: dict[tuple[str, str], SignatureChecker] = {}


def checker_for(setup: SignatureSetup) -> SignatureChecker:
    """The checker for `setup`, built on first use in this process."""
    if setup.snapshot is None:
        return checker_for_process(setup.sources, setup.settings, setup.generation)
    key = (setup.generation, setup.settings.fingerprint)
    checker = _SNAPSHOT_CHECKER.get(key)
    if checker is None:
        material: TrustMaterial = pickle.loads(setup.snapshot.read_bytes())
        checker = SignatureChecker(material, setup.sources, setup.settings)
        _SNAPSHOT_CHECKER.clear()
        _SNAPSHOT_CHECKER[key] = checker
    return checker


def signature_setup(settings: Settings, signature_settings: SignatureSettings) -> SignatureSetup:
    """The setup for `check`, from the deployment settings (and flags)."""
    from gateway.reload import fingerprint

    sources = trust_sources(settings)
    stamp = fingerprint([sources.anchors, sources.intermediates, sources.crls])
    return SignatureSetup(sources, stamp, signature_settings)


def trust_sources(settings: Settings) -> TrustSources:
    """Where the deployment settings (and flags) put the trust store's files."""
    trust = settings.trust
    return TrustSources(anchors=trust.anchors, intermediates=trust.intermediates,
                        crls=trust.crls)


def run_analysis(
    message: bytes,
    envelope: Envelope,
    direction: Direction,
    settings: AnalysisSettings,
    signatures: SignatureSetup | None,
) -> Analysis:
    if signatures is None:
        return analyse(message, envelope, direction, settings, None, _TEXTS)
    checker = TimedChecking(checker_for(signatures))
    analysis = analyse(message, envelope, direction, settings, checker, _TEXTS)
    return replace(analysis, signature_seconds=checker.seconds)
