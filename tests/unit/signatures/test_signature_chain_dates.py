"""An expired trust anchor or intermediate CA makes a signature `expired` (PDF and CMS),
unless a timestamp proves it was signed while the whole chain was valid."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from asn1crypto import cms
from pyhanko_certvalidator.authority import CertTrustAnchor
from pyhanko_certvalidator.path import ValidationPath

from gateway.signatures import chaindates
from gateway.signatures.checker import SignatureChecker, build_checker
from gateway.signatures.context import Checking
from gateway.signatures.model import SignatureStatus
from gateway.signatures.settings import SignatureSettings
from gateway.signatures.trust import TrustMaterial, TrustSources
from tests.fixtures.pki import (
    ExpiredAuthorities,
    Identity,
    Pki,
    build_expired_authorities,
    renewed,
)
from tests.fixtures.signed import base_pdf, detached_signature, sign_pdf, signer_for


@pytest.fixture(scope="module")
def lapsed(pki: Pki, tmp_path_factory: pytest.TempPathFactory) -> ExpiredAuthorities:
    return build_expired_authorities(pki, tmp_path_factory.mktemp("lapsed"))


def _checker(pki: Pki, lapsed: ExpiredAuthorities, which: str) -> SignatureChecker:
    if which == "root":
        trust = TrustSources(lapsed.expired_root_anchors, lapsed.expired_root_intermediates,
                             lapsed.expired_root_crls)
    else:
        crls = Path(lapsed.expired_ca_crls)
        trust = TrustSources(pki.anchors, lapsed.expired_ca_intermediates, crls)
    return build_checker(trust, SignatureSettings())


def _signer(lapsed: ExpiredAuthorities, which: str) -> Identity:
    return lapsed.expired_root_signer if which == "root" else lapsed.expired_ca_signer


ROLES = {"root": "trust anchor certificate 'Test Root CA đã hết hạn' expired",
         "ca": "intermediate CA certificate 'Test CA đã hết hạn' expired"}


@pytest.mark.parametrize("which", ["root", "ca"])
def test_pdf_signed_under_an_expired_authority_is_expired(
    pki: Pki, lapsed: ExpiredAuthorities, which: str
) -> None:
    verdict = _checker(pki, lapsed, which).check_pdf(
        sign_pdf(base_pdf(), signer_for(_signer(lapsed, which))))
    (result,) = verdict.signatures
    assert verdict.status is SignatureStatus.EXPIRED, result
    assert ROLES[which] in result.detail


@pytest.mark.parametrize("which", ["root", "ca"])
def test_detached_signature_under_an_expired_authority_is_expired(
    pki: Pki, lapsed: ExpiredAuthorities, which: str
) -> None:
    content = base_pdf()
    verdict = _checker(pki, lapsed, which).check_detached(
        content, detached_signature(content, _signer(lapsed, which)))
    assert verdict.status is SignatureStatus.EXPIRED, verdict
    assert ROLES[which] in verdict.signatures[0].detail


def test_claimed_signing_time_inside_the_anchors_validity_is_judged_then(
    pki: Pki, lapsed: ExpiredAuthorities
) -> None:
    """With `fallback_time: claimed` the chain is checked at the claimed time, when the
    root was still valid: not expired."""
    content = base_pdf()
    signature = detached_signature(content, lapsed.expired_root_signer,
                                   at=pki.now - timedelta(days=2))
    trust = TrustSources(lapsed.expired_root_anchors, lapsed.expired_root_intermediates,
                         lapsed.expired_root_crls)
    checker = build_checker(trust, SignatureSettings(fallback_time="claimed"))
    verdict = checker.check_detached(content, signature)
    assert verdict.status is not SignatureStatus.EXPIRED, verdict
    assert verdict.signatures[0].time_source == "claimed"


def test_valid_chain_is_still_valid(checker: SignatureChecker, pdfs: dict[str, bytes]) -> None:
    assert checker.check_pdf(pdfs["valid"]).status is SignatureStatus.VALID


def test_a_validated_path_within_its_dates_is_not_built_again(
    pdfs: dict[str, bytes], pki: Pki, lapsed: ExpiredAuthorities,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The validator's own path decides when it is within its dates; only a path with a
    lapsed certificate sends the checker looking for another one."""
    searches: list[str] = []
    original = chaindates.lapsed_authority

    async def counted(*args: Any) -> str | None:
        searches.append("built")
        return await original(*args)

    monkeypatch.setattr(chaindates, "lapsed_authority", counted)
    fresh = build_checker(TrustSources(pki.anchors, pki.intermediates, pki.crls),
                          SignatureSettings())  # nothing cached: the chain is validated
    assert fresh.check_pdf(pdfs["valid"]).status is SignatureStatus.VALID
    assert searches == []
    expired = _checker(pki, lapsed, "root")
    signed = sign_pdf(base_pdf(), signer_for(_signer(lapsed, "root")))
    assert expired.check_pdf(signed).status is SignatureStatus.EXPIRED
    assert searches == ["built"]


def test_with_online_fetching_a_validated_path_through_a_renewed_ca_stays_valid(
    pki: Pki, lapsed: ExpiredAuthorities, tmp_path: Path
) -> None:
    """Online fetching on, the local intermediates hold only the CA's lapsed certificate, and
    the validator accepted a path through its renewal (as fetched from the issuers'
    address): that path is within its dates, so the signature is not `expired`. A path
    through the lapsed certificate still is."""
    sources = TrustSources(pki.anchors, lapsed.expired_ca_intermediates, lapsed.expired_ca_crls,
                           allow_fetching=True)
    checking = Checking.of(TrustMaterial.load(sources), sources, SignatureSettings())
    signer = lapsed.expired_ca_signer
    signed_data = cms.ContentInfo.load(detached_signature(base_pdf(), signer))["content"]
    renewal = renewed(lapsed.expired_ca, pki.root, pki.now - timedelta(days=30),
                      pki.now + timedelta(days=365))
    anchor = CertTrustAnchor(pki.root.asn1_cert)
    valid = (SignatureStatus.VALID, "signature: valid")

    def dated(through: Identity) -> tuple[SignatureStatus, str]:
        path = ValidationPath(anchor, [through.asn1_cert], signer.asn1_cert)
        return asyncio.run(chaindates.dated(valid, signer.asn1_cert, signed_data, checking,
                                            pki.now, path))

    assert dated(renewal) == valid
    status, reason = dated(lapsed.expired_ca)
    assert status is SignatureStatus.EXPIRED
    assert ROLES["ca"] in reason
