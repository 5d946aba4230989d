"""The validation policy: strict settings, policies/signatures.yaml, and each explicit choice."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from gateway.policy.loader import load_policy
from gateway.signatures.checker import build_checker
from gateway.signatures.model import SignatureStatus
from gateway.signatures.settings import SignatureSettings
from gateway.signatures.trust import TrustSources
from tests.fixtures.pki import AGENCY_DOMAIN, AGENCY_ORG, Pki, no_key_usage_signer
from tests.fixtures.signed import base_pdf, detached_signature, sign_pdf, signer_for

S = SignatureStatus
POLICY = Path(__file__).resolve().parents[3] / "policies" / "signatures.yaml"


def test_policy_file_loads_under_signatures_key() -> None:
    settings = load_policy(POLICY.parent).signature_settings
    assert settings.multi_signature_rule == "all_valid"
    assert settings.allow_sha1 is False
    assert AGENCY_ORG in settings.agency_organisations[AGENCY_DOMAIN]


@pytest.mark.parametrize(
    "bad",
    [
        {"allow_sha_1": True},
        {"allow_sha1": "yes"},
        {"key_usage": ["signing"]},
        {"key_usage": "digital_signature"},
        {"multi_signature_rule": "majority"},
        {"cache_entries": 0},
        {"fallback_time": "yesterday"},
    ],
)
def test_settings_are_strict(bad: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        SignatureSettings.model_validate(bad)


def _check(pki: Pki, pdf: bytes, crls: Path | None = None, **settings: Any) -> Any:
    trust = TrustSources(pki.anchors, pki.intermediates, crls or pki.crls)
    return build_checker(trust, SignatureSettings.model_validate(settings)).check_pdf(pdf)


def test_stale_crl_is_unknown(pki: Pki, pdfs: dict[str, bytes]) -> None:
    verdict = _check(pki, pdfs["valid"], pki.stale_crls)
    assert verdict.status == S.UNKNOWN
    assert "not fresh" in verdict.signatures[0].detail


def test_stale_crl_accepted_by_policy_is_noted(pki: Pki, pdfs: dict[str, bytes]) -> None:
    verdict = _check(pki, pdfs["valid"], pki.stale_crls, accept_stale_crl=True)
    assert verdict.status == S.VALID
    assert any("accept_stale_crl" in note for note in verdict.signatures[0].notes)


def test_stale_crl_still_revokes(pki: Pki, pdfs: dict[str, bytes]) -> None:
    verdict = _check(pki, pdfs["revoked"], pki.stale_crls, accept_stale_crl=True)
    assert verdict.status == S.REVOKED


def test_missing_crl_is_unknown(pki: Pki, pdfs: dict[str, bytes], tmp_path: Path) -> None:
    verdict = _check(pki, pdfs["valid"], tmp_path)
    assert verdict.status == S.UNKNOWN


def test_missing_crl_with_soft_revocation_is_valid(
    pki: Pki, pdfs: dict[str, bytes], tmp_path: Path
) -> None:
    assert _check(pki, pdfs["valid"], tmp_path, revocation="soft").status == S.VALID


def test_sha1_accepted_by_policy_is_noted(pki: Pki, pdfs: dict[str, bytes]) -> None:
    verdict = _check(pki, pdfs["sha1"], allow_sha1=True)
    assert verdict.status == S.VALID
    assert verdict.signatures[0].notes == ("SHA-1 digest accepted by policy (allow_sha1)",)


def test_sha1_refused_names_the_setting(checker_detail: str) -> None:
    assert "allow_sha1" in checker_detail


@pytest.fixture
def checker_detail(pki: Pki, pdfs: dict[str, bytes]) -> str:
    detail: str = _check(pki, pdfs["sha1"]).signatures[0].detail
    return detail


def test_digital_signature_only_is_accepted_and_noted(pki: Pki, pdfs: dict[str, bytes]) -> None:
    verdict = _check(pki, pdfs["ds_only"])
    assert verdict.status == S.VALID
    assert "no non_repudiation" in verdict.signatures[0].notes[0]


def test_key_usage_policy_can_require_non_repudiation(pki: Pki, pdfs: dict[str, bytes]) -> None:
    assert _check(pki, pdfs["ds_only"], key_usage=["non_repudiation"]).status == S.UNTRUSTED
    assert _check(pki, pdfs["valid"], key_usage=["non_repudiation"]).status == S.VALID


@pytest.mark.parametrize("usage", [["digital_signature", "non_repudiation"],
                                   ["non_repudiation"], []])
def test_signer_without_key_usage_extension_is_acceptable(pki: Pki, usage: list[str]) -> None:
    """RFC 5280 puts no restriction on a certificate without KeyUsage: PDF and detached."""
    signer = no_key_usage_signer(pki)
    content = base_pdf()
    trust = TrustSources(pki.anchors, pki.intermediates, pki.crls)
    checker = build_checker(trust, SignatureSettings.model_validate({"key_usage": usage}))
    for verdict in (checker.check_pdf(sign_pdf(content, signer_for(signer))),
                    checker.check_detached(content, detached_signature(content, signer))):
        assert verdict.status == S.VALID, verdict
        assert any("without KeyUsage" in note for note in verdict.signatures[0].notes)


def test_empty_key_usage_accepts_any_present_usage(pki: Pki, pdfs: dict[str, bytes]) -> None:
    assert _check(pki, pdfs["ds_only"], key_usage=[]).status == S.VALID
    assert _check(pki, pdfs["ds_only"], key_usage=["key_encipherment"]).status == S.UNTRUSTED


def test_key_usage_match_all(pki: Pki, pdfs: dict[str, bytes]) -> None:
    usage = ["digital_signature", "non_repudiation"]
    assert _check(pki, pdfs["ds_only"], key_usage=usage, key_usage_match_all=True).status == (
        S.UNTRUSTED
    )


def test_claimed_time_fallback(pki: Pki, detached: dict[str, tuple[bytes, bytes]]) -> None:
    content, signature = detached["expired_claimed"]
    trust = TrustSources(pki.anchors, pki.intermediates, pki.crls)
    claimed = build_checker(trust, SignatureSettings(fallback_time="claimed"))
    verdict = claimed.check_detached(content, signature)
    assert verdict.status == S.VALID
    assert verdict.signatures[0].time_source == "claimed"


@pytest.mark.parametrize(
    ("rule", "case", "status"),
    [
        ("all_valid", "valid", S.VALID),
        ("any_valid", "valid", S.VALID),
        ("any_organisation_valid", "valid", S.UNTRUSTED),
        ("any_organisation_valid", "organisation", S.VALID),
        ("any_organisation_valid", "two_signatures", S.VALID),
        ("any_organisation_valid", "revoked", S.REVOKED),
        ("any_valid", "untrusted", S.UNTRUSTED),
    ],
)
def test_multi_signature_rule(
    pki: Pki, pdfs: dict[str, bytes], rule: str, case: str, status: S
) -> None:
    verdict = _check(pki, pdfs[case], multi_signature_rule=rule)
    assert verdict.status == status
    assert verdict.detail.startswith(rule)


def test_settings_hash_and_compare_by_value() -> None:
    mapping = {"stc.thuathienhue.gov.vn": ["Sở Tài chính"]}
    first = SignatureSettings(agency_organisations=mapping)
    same = SignatureSettings.model_validate({"agency_organisations": mapping})
    assert first == same and hash(first) == hash(same)
    assert hash(first) != hash(SignatureSettings())
    with pytest.raises(ValidationError):
        first.allow_sha1 = True
