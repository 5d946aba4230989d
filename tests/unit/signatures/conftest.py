"""Session-wide fixture PKI, signed documents and a default checker (built once, ~3 s)."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.signatures.checker import SignatureChecker, build_checker
from gateway.signatures.settings import SignatureSettings
from gateway.signatures.trust import TrustSources
from tests.fixtures.pki import Pki, build_pki
from tests.fixtures.signed import (
    SmimeOpaque,
    SmimeSigned,
    detached_cases,
    signed_pdfs,
    smime_cases,
)


@pytest.fixture(scope="session")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    return build_pki(tmp_path_factory.mktemp("pki"))


@pytest.fixture(scope="session")
def trust(pki: Pki) -> TrustSources:
    return TrustSources(anchors=pki.anchors, intermediates=pki.intermediates, crls=pki.crls)


@pytest.fixture(scope="session")
def pdfs(pki: Pki) -> dict[str, bytes]:
    return signed_pdfs(pki)


@pytest.fixture(scope="session")
def detached(pki: Pki) -> dict[str, tuple[bytes, bytes]]:
    return detached_cases(pki)


@pytest.fixture(scope="session")
def smime(pki: Pki) -> dict[str, SmimeSigned | SmimeOpaque]:
    return smime_cases(pki)


@pytest.fixture(scope="session")
def checker(trust: TrustSources) -> SignatureChecker:
    return build_checker(trust, SignatureSettings())


@pytest.fixture
def tmp_trust(pki: Pki, tmp_path: Path) -> TrustSources:
    """Trust sources in a private copy of the anchors, for tests that edit them."""
    anchors = tmp_path / "anchors"
    anchors.mkdir()
    (anchors / "root.pem").write_bytes((pki.anchors / "root.pem").read_bytes())
    return TrustSources(anchors=anchors, intermediates=pki.intermediates, crls=pki.crls)
