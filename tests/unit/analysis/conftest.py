"""Settings from the shipped policy files, and a helper to analyse messages."""

from __future__ import annotations

from email.message import EmailMessage
from pathlib import Path

import pytest

from gateway.analysis.analyse import analyse
from gateway.analysis.model import Analysis
from gateway.analysis.ports import SignatureChecking
from gateway.analysis.settings import AnalysisSettings
from gateway.policy.loader import load_policy
from gateway.signatures.checker import SignatureChecker, build_checker
from gateway.signatures.settings import SignatureSettings
from gateway.signatures.trust import TrustSources
from tests.fixtures.documents import to_bytes
from tests.fixtures.pki import Pki, build_pki
from tests.support.analysing import Analyser
from tests.support.builders import POLICIES


@pytest.fixture(scope="session")
def settings() -> AnalysisSettings:
    """The shipped policy's analysis settings, read by the policy loader."""
    return load_policy(POLICIES).analysis_settings


@pytest.fixture(scope="session")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    """A real fixture PKI (roots, intermediates, signers, CRLs)."""
    return build_pki(Path(tmp_path_factory.mktemp("analysis-pki")))


@pytest.fixture(scope="session")
def checker(pki: Pki) -> SignatureChecker:
    """The real signature validator over `pki`."""
    trust = TrustSources(anchors=pki.anchors, intermediates=pki.intermediates, crls=pki.crls)
    return build_checker(trust, SignatureSettings())


@pytest.fixture
def analysed(settings: AnalysisSettings) -> Analyser:
    """analysed(message or bytes, settings=..., signatures=...) -> Analysis."""

    def run(
        message: EmailMessage | bytes,
        *,
        with_settings: AnalysisSettings | None = None,
        signatures: SignatureChecking | None = None,
    ) -> Analysis:
        data = message if isinstance(message, bytes) else to_bytes(message)
        return analyse(data, with_settings or settings, signatures)

    return run
