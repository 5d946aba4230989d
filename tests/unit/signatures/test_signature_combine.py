"""The multi-signature rules and signer identity, on hand-made results."""

from __future__ import annotations

import pytest

from gateway.signatures.combine import combine
from gateway.signatures.identity import is_organisation_signer, signer_matches_agency
from gateway.signatures.model import SignatureKind, SignatureResult, SignatureStatus, Signer
from gateway.signatures.settings import SignatureSettings

S = SignatureStatus
PERSON = Signer(common_name="Nguyễn Văn An", organization="Sở Tài chính")
ORG = Signer(common_name="Sở Tài chính", organization="Sở Tài chính")


def _result(status: S, signer: Signer | None = PERSON, stamp: bool = False) -> SignatureResult:
    return SignatureResult(SignatureKind.PDF, status, signer=signer, document_timestamp=stamp)


@pytest.mark.parametrize(
    ("rule", "statuses", "expected"),
    [
        ("all_valid", [S.VALID, S.EXPIRED], S.EXPIRED),
        ("all_valid", [S.UNKNOWN, S.UNTRUSTED], S.UNTRUSTED),
        ("any_valid", [S.VALID, S.EXPIRED], S.VALID),
        ("any_valid", [S.UNKNOWN, S.EXPIRED], S.EXPIRED),
        ("any_valid", [S.VALID, S.MODIFIED], S.MODIFIED),
        ("any_valid", [S.VALID, S.REVOKED, S.INVALID], S.INVALID),
    ],
)
def test_rules(rule: str, statuses: list[S], expected: S) -> None:
    settings = SignatureSettings.model_validate({"multi_signature_rule": rule})
    verdict = combine([_result(status) for status in statuses], settings)
    assert verdict.status == expected
    assert len(verdict.signatures) == len(statuses)


def test_no_signature_is_missing() -> None:
    assert combine([], SignatureSettings()).status == S.MISSING


def test_only_document_timestamps_is_missing() -> None:
    verdict = combine([_result(S.VALID, None, stamp=True)], SignatureSettings())
    assert verdict.status == S.MISSING and len(verdict.signatures) == 1


def test_organisation_from_configured_names() -> None:
    seal = Signer(common_name="UBND tỉnh", organization="Ủy ban nhân dân tỉnh Thừa Thiên Huế")
    settings = SignatureSettings(
        multi_signature_rule="any_organisation_valid",
        agency_organisations={"thuathienhue.gov.vn": ["UBND  TỈNH"]},
    )
    assert combine([_result(S.VALID, seal)], settings).status == S.VALID
    assert combine([_result(S.VALID, PERSON)], settings).status == S.UNTRUSTED


def test_is_organisation_signer() -> None:
    assert is_organisation_signer(ORG)
    assert not is_organisation_signer(PERSON)
    assert not is_organisation_signer(None)


MAPPING = {"STC.thuathienhue.gov.vn.": ["Sở Tài chính"]}


@pytest.mark.parametrize(
    ("signer", "domain", "expected"),
    [
        (Signer(organization="SỞ TÀI  CHÍNH"), "stc.thuathienhue.gov.vn", True),
        (Signer(organizational_unit="Sở Tài chính"), "stc.thuathienhue.gov.vn", True),
        (Signer(organization="Sở Tài chính"), "sotttt.thuathienhue.gov.vn", False),
        (Signer(organization="Sở Y tế", email="a@stc.thuathienhue.gov.vn"),
         "STC.thuathienhue.gov.vn", True),
        (Signer(email="a@phong.stc.thuathienhue.gov.vn"), "stc.thuathienhue.gov.vn", True),
        (Signer(email="a@evilstc.thuathienhue.gov.vn"), "stc.thuathienhue.gov.vn", False),
        (Signer(email="a@stc.thuathienhue.gov.vn.evil.com"), "stc.thuathienhue.gov.vn", False),
        (Signer(), "stc.thuathienhue.gov.vn", False),
    ],
)
def test_signer_matches_agency(signer: Signer, domain: str, expected: bool) -> None:
    assert signer_matches_agency(signer, domain, MAPPING) is expected


def test_decomposed_unicode_names_match() -> None:
    import unicodedata

    decomposed = unicodedata.normalize("NFD", "Sở Tài chính")
    assert signer_matches_agency(
        Signer(organization=decomposed), "stc.thuathienhue.gov.vn", MAPPING
    )
