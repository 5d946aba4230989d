"""The signature setup of an analysis: which trust store and settings to check with, and the
one cache of the checker built from them in a process.

Like pyHanko's validation context, the setup is a value handed to whoever checks, and
the `CheckerCache` is an object its owner (an analysis worker process, the `check`
command, the gateway's own process for small messages) creates once and passes in: no
module keeps a checker of its own.
"""

from __future__ import annotations

import pickle
from dataclasses import dataclass
from pathlib import Path

from gateway.config import Settings
from gateway.signatures.checker import SignatureChecker
from gateway.signatures.settings import SignatureSettings
from gateway.signatures.trust import TrustMaterial, TrustSources


@dataclass(frozen=True, slots=True)
class SignatureSetup:
    """What a process needs to build, once, its signature checker: the trust store's
    files, the generation of what was loaded from them, the policy's signature settings,
    and `snapshot`, the file holding the loaded certificates and CRLs (the last good trust
    store, even if the files were edited since); without a snapshot the files are read."""

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


#: No trust anchors at all: every signature is checked and found `untrusted`.
NO_TRUST = TrustSources(anchors=None, intermediates=None, crls=None)


def setup_for(trust: LoadedTrust | None, settings: SignatureSettings) -> SignatureSetup:
    """The setup for a transaction: the trust store loaded now (or none) and the policy's
    signature settings."""
    if trust is None:
        return SignatureSetup(NO_TRUST, "no-trust-anchors", settings)
    return SignatureSetup(trust.sources, trust.generation, settings, trust.snapshot)


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


class CheckerCache:
    """One process's signature checker, built on first use for a setup and kept while
    the setup's trust sources, generation and settings stay the same. Another setup (a
    reloaded trust store or policy) replaces it by a new checker, whose verdict cache
    starts empty."""

    def __init__(self) -> None:
        self._key: tuple[object, ...] | None = None
        self._checker: SignatureChecker | None = None

    def checker(self, setup: SignatureSetup) -> SignatureChecker:
        """The checker for `setup`, from its snapshot when it has one, else from its files."""
        key = (setup.sources, setup.generation, setup.settings.fingerprint)
        if self._checker is None or key != self._key:
            self._checker = None  # the old one's memory goes before the new one is loaded
            material = (TrustMaterial.load(setup.sources) if setup.snapshot is None
                        else pickle.loads(setup.snapshot.read_bytes()))
            self._checker = SignatureChecker(material, setup.sources, setup.settings)
            self._key = key
        return self._checker
