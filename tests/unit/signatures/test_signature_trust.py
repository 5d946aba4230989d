"""Loading trust anchors, intermediates and CRLs (PEM/DER, files/directories) and expiries."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from pyhanko_certvalidator.fetchers.aiohttp_fetchers import AIOHttpFetcherBackend

from gateway.signatures.checker import build_checker
from gateway.signatures.model import SignatureStatus
from gateway.signatures.settings import SignatureSettings
from gateway.signatures.trust import TrustLoadError, TrustMaterial, TrustSources
from tests.fixtures.pki import Pki

DER = serialization.Encoding.DER
PEM = serialization.Encoding.PEM


def test_loads_pem_dir_der_intermediate_and_mixed_crls(trust: TrustSources) -> None:
    material = TrustMaterial.load(trust)
    assert [cert.name for cert in material.anchors] == ["root.pem"]
    assert [cert.name for cert in material.intermediates] == ["ca.der"]
    assert sorted(named.name for named in material.crls) == ["ca.crl", "root.pem"]
    assert len(material.generation) == 16


def test_anchor_bundle_file_and_der_file(pki: Pki, tmp_path: Path) -> None:
    bundle = tmp_path / "bundle.pem"
    bundle.write_bytes(pki.root.cert_pem + pki.untrusted_root.cert_pem)
    material = TrustMaterial.load(TrustSources(bundle))
    assert [cert.name for cert in material.anchors] == ["bundle.pem#1", "bundle.pem#2"]
    der = tmp_path / "root.cer"
    der.write_bytes(pki.root.cert.public_bytes(DER))
    assert TrustMaterial.load(TrustSources(der)).anchors[0].der == pki.root.cert_der


def test_der_anchor_validates(pki: Pki, pdfs: dict[str, bytes], tmp_path: Path) -> None:
    der = tmp_path / "root.der"
    der.write_bytes(pki.root.cert.public_bytes(DER))
    checker = build_checker(TrustSources(der, pki.intermediates, pki.crls), SignatureSettings())
    assert checker.check_pdf(pdfs["valid"]).status == SignatureStatus.VALID


def test_without_intermediates_the_chain_is_incomplete(pki: Pki, pdfs: dict[str, bytes]) -> None:
    checker = build_checker(TrustSources(pki.anchors, None, pki.crls), SignatureSettings())
    assert checker.check_pdf(pdfs["valid"]).status == SignatureStatus.UNTRUSTED


def test_trusting_another_root_makes_our_signatures_untrusted(
    pki: Pki, pdfs: dict[str, bytes]
) -> None:
    trust = TrustSources(pki.untrusted_anchors, pki.intermediates, pki.crls)
    checker = build_checker(trust, SignatureSettings())
    assert checker.check_pdf(pdfs["valid"]).status == SignatureStatus.UNTRUSTED


@pytest.mark.parametrize(
    ("name", "data", "reason"),
    [
        ("empty", None, "no trust anchor certificates found"),
        ("junk.pem", b"-----BEGIN FOO-----\nAAAA\n-----END FOO-----\n", "no PEM block"),
        ("junk.der", b"\x30\x03\x02\x01\x01", "not an X.509 certificate"),
        ("bad64.pem", b"-----BEGIN CERTIFICATE-----\nnotbase64!!\n-----END CERTIFICATE-----\n",
         "not readable PEM"),
        ("missing", b"", "no such file or directory"),
    ],
)
def test_unusable_anchors_are_named(
    tmp_path: Path, name: str, data: bytes | None, reason: str
) -> None:
    anchors = tmp_path / "anchors"
    anchors.mkdir()
    target = anchors if data is None else anchors / name
    if data:
        target.write_bytes(data)
    path = tmp_path / "nowhere" if name == "missing" else target
    with pytest.raises(TrustLoadError) as error:
        TrustMaterial.load(TrustSources(path))
    assert reason in str(error.value)
    assert str(path) in str(error.value)


def test_bad_crl_is_named(pki: Pki, tmp_path: Path) -> None:
    (tmp_path / "bad.crl").write_bytes(pki.root.cert_der)
    with pytest.raises(TrustLoadError, match=r"bad\.crl: not a CRL"):
        TrustMaterial.load(TrustSources(pki.anchors, crls=tmp_path))


def test_trust_expiries(trust: TrustSources, pki: Pki) -> None:
    items = TrustMaterial.load(trust).expiries()
    kinds = {(kind, name) for kind, name, _ in items}
    assert kinds == {
        ("anchor", "root.pem"), ("intermediate", "ca.der"), ("crl", "ca.crl"), ("crl", "root.pem")
    }
    moments = [moment for _, _, moment in items]
    assert moments == sorted(moments)
    kind, _name, first = items[0]
    assert kind == "crl"
    assert abs(first - (pki.now + timedelta(days=7))) < timedelta(seconds=2)


def test_stamp_changes_with_files(tmp_trust: TrustSources) -> None:
    before = tmp_trust.stamp()
    assert tmp_trust.anchors is not None
    (tmp_trust.anchors / "extra.pem").write_bytes((tmp_trust.anchors / "root.pem").read_bytes())
    assert tmp_trust.stamp() != before


def test_online_fetching_failure_is_unknown_and_closes_sessions(
    pki: Pki, pdfs: dict[str, bytes], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    closed: list[AIOHttpFetcherBackend] = []
    real_close = AIOHttpFetcherBackend.close

    async def close(self: AIOHttpFetcherBackend) -> None:
        closed.append(self)
        await real_close(self)  # type: ignore[no-untyped-call]

    monkeypatch.setattr(AIOHttpFetcherBackend, "close", close)
    trust = TrustSources(
        pki.anchors, pki.intermediates, tmp_path, allow_fetching=True, fetch_timeout=2.0
    )
    verdict = build_checker(trust, SignatureSettings()).check_pdf(pdfs["valid"])
    assert verdict.status == SignatureStatus.UNKNOWN
    assert len(closed) == 2  # signer and timestamp contexts


@pytest.mark.parametrize(("case", "status"), [
    ("valid", SignatureStatus.UNTRUSTED), ("tampered", SignatureStatus.INVALID),
    ("modified_after_signing", SignatureStatus.MODIFIED), ("unsigned", SignatureStatus.MISSING),
])
def test_without_anchors_signatures_are_still_checked(
    pdfs: dict[str, bytes], case: str, status: SignatureStatus
) -> None:
    checker = build_checker(TrustSources(None), SignatureSettings())
    assert checker.material.anchors == ()
    assert checker.check_pdf(pdfs[case]).status == status


def test_expiries_have_names(trust: TrustSources) -> None:
    (first, *_rest) = TrustMaterial.load(trust).expiries()
    assert (first.kind, first.name) == ("crl", "ca.crl")
