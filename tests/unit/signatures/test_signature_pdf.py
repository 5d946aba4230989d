"""Every fixture PDF gets its exact status from the checker (default settings)."""

from __future__ import annotations

import logging

import pytest

from gateway.signatures.checker import SignatureChecker, build_checker
from gateway.signatures.identity import signer_matches_agency
from gateway.signatures.model import SignatureKind, SignatureStatus
from gateway.signatures.settings import SignatureSettings
from gateway.signatures.trust import TrustSources
from tests.fixtures.pki import AGENCY_DOMAIN, AGENCY_ORG, OTHER_AGENCY_ORG, PERSON_EMAIL, Pki
from tests.fixtures.signed import PDF_CASES, signed_hybrid_pdf

S = SignatureStatus
EXPECTED = {
    "valid": S.VALID,
    "timestamped": S.VALID,
    "expired_timestamped": S.VALID,
    "two_signatures": S.VALID,
    "organisation": S.VALID,
    "other_agency": S.VALID,
    "unsigned": S.MISSING,
    "untrusted": S.UNTRUSTED,
    "expired": S.EXPIRED,
    "revoked": S.REVOKED,
    "ds_only": S.VALID,
    "sha1": S.INVALID,
    "tampered": S.INVALID,
    "modified_after_signing": S.MODIFIED,
    "field_added_after_signing": S.VALID,
    "appended_garbage": S.MODIFIED,
    "unknown_subfilter": S.UNKNOWN,
    "broken_cms": S.INVALID,
    "document_timestamp": S.VALID,
    "forged_timestamp": S.UNTRUSTED,
}


def test_every_case_has_an_expectation() -> None:
    assert set(EXPECTED) == set(PDF_CASES)


@pytest.mark.parametrize("case", PDF_CASES)
def test_status(checker: SignatureChecker, pdfs: dict[str, bytes], case: str) -> None:
    verdict = checker.check_pdf(pdfs[case])
    assert verdict.status == EXPECTED[case], verdict
    if case != "unsigned":
        assert verdict.source == "own"
        assert all(result.kind == SignatureKind.PDF for result in verdict.signatures)


def test_valid_signature_reports_signer_and_coverage(
    checker: SignatureChecker, pdfs: dict[str, bytes], pki: Pki
) -> None:
    (result,) = checker.check_pdf(pdfs["valid"]).signatures
    assert result.signer is not None
    assert result.signer.common_name == "Nguyễn Văn An"
    assert result.signer.organization == AGENCY_ORG
    assert result.signer.email == PERSON_EMAIL
    assert result.signer.serial == format(pki.person.cert.serial_number, "x")
    assert "Test CA phục vụ các cơ quan Nhà nước G2" in (result.signer.issuer or "")
    assert result.coverage == "entire_file"
    assert result.field_name == "Signature1"
    assert (result.timestamped, result.time_source, result.digest_algorithm) == (
        False, "now", "sha256"
    )
    assert result.signing_time is not None
    assert abs((result.signing_time - pki.now).total_seconds()) < 600


def test_timestamp_sets_validation_time(checker: SignatureChecker, pdfs: dict[str, bytes]) -> None:
    (result,) = checker.check_pdf(pdfs["timestamped"]).signatures
    assert result.timestamped and result.time_source == "timestamp"
    assert result.validation_time == result.signing_time


def test_expired_signer_is_valid_when_a_timestamp_proves_earlier_signing(
    checker: SignatureChecker, pdfs: dict[str, bytes], pki: Pki
) -> None:
    (result,) = checker.check_pdf(pdfs["expired_timestamped"]).signatures
    assert result.time_source == "timestamp"
    assert result.validation_time is not None
    assert result.validation_time < pki.expired.cert.not_valid_after_utc


def test_untrusted_timestamp_does_not_rescue_an_expired_signer(
    checker: SignatureChecker, pdfs: dict[str, bytes]
) -> None:
    (result,) = checker.check_pdf(pdfs["forged_timestamp"]).signatures
    assert result.detail.startswith("timestamp:")
    assert not result.timestamped


def test_two_signatures_are_both_reported(
    checker: SignatureChecker, pdfs: dict[str, bytes]
) -> None:
    verdict = checker.check_pdf(pdfs["two_signatures"])
    first, second = verdict.signatures
    assert first.signer is not None and second.signer is not None
    assert (first.signer.common_name, second.signer.common_name) == ("Nguyễn Văn An", AGENCY_ORG)
    assert first.later_revisions == 1 and first.modification == "form_filling"
    assert second.coverage == "entire_file"
    assert "2 of 2" in verdict.detail


def test_changed_content_is_modified_with_details(
    checker: SignatureChecker, pdfs: dict[str, bytes]
) -> None:
    (result,) = checker.check_pdf(pdfs["modified_after_signing"]).signatures
    assert result.modification == "other"
    assert result.later_revisions == 1 and result.appended_bytes > 0
    assert "changed after signing" in result.detail


def test_appended_garbage_is_reported(checker: SignatureChecker, pdfs: dict[str, bytes]) -> None:
    (result,) = checker.check_pdf(pdfs["appended_garbage"]).signatures
    assert result.appended_bytes >= 512
    assert "appended" in result.detail


@pytest.mark.parametrize(
    ("suffix", "status"),
    [(b"JUNK", S.MODIFIED), (b"Z" * 5000, S.MODIFIED), (b"junk\n%%EOF\n", S.INVALID)],
)
def test_bytes_after_the_last_revision_are_never_valid(
    checker: SignatureChecker, pdfs: dict[str, bytes], suffix: bytes, status: S
) -> None:
    assert checker.check_pdf(pdfs["valid"] + suffix).status == status


def test_removing_the_signed_final_newline_is_invalid(
    checker: SignatureChecker, pdfs: dict[str, bytes]
) -> None:
    assert checker.check_pdf(pdfs["valid"].rstrip()).status == S.INVALID


def test_trailing_blank_lines_are_not_a_change(
    checker: SignatureChecker, pdfs: dict[str, bytes]
) -> None:
    assert checker.check_pdf(pdfs["valid"] + b"\r\n\r\n").status == S.VALID


def test_unknown_subfilter_does_not_disappear(
    checker: SignatureChecker, pdfs: dict[str, bytes]
) -> None:
    (result,) = checker.check_pdf(pdfs["unknown_subfilter"]).signatures
    assert "x.unknown.subfilter" in result.detail


def test_validator_error_is_invalid_never_missing(
    checker: SignatureChecker, pdfs: dict[str, bytes]
) -> None:
    (result,) = checker.check_pdf(pdfs["broken_cms"]).signatures
    assert result.detail.startswith("validation failed")
    assert result.field_name == "Signature1"


def test_allowed_field_addition_is_not_modified(
    checker: SignatureChecker, pdfs: dict[str, bytes]
) -> None:
    (result,) = checker.check_pdf(pdfs["field_added_after_signing"]).signatures
    assert result.later_revisions == 1 and result.coverage == "entire_revision"


def test_document_timestamp_is_reported_but_not_a_signer(
    checker: SignatureChecker, pdfs: dict[str, bytes]
) -> None:
    verdict = checker.check_pdf(pdfs["document_timestamp"])
    kinds = [result.document_timestamp for result in verdict.signatures]
    assert kinds == [False, True]
    assert "1 of 1" in verdict.detail


def test_unreadable_pdf_with_signature_markers_is_invalid(checker: SignatureChecker) -> None:
    data = b"%PDF-1.7\n1 0 obj << /ByteRange [0 10 20 30] /Contents <00> >> endobj\n%%EOF\n"
    verdict = checker.check_pdf(data)
    assert verdict.status == S.INVALID


def test_not_a_pdf_is_missing(checker: SignatureChecker) -> None:
    verdict = checker.check_pdf(b"just some text")
    assert verdict.status == S.MISSING and "not a readable PDF" in verdict.detail


def test_truncated_signed_pdf_is_not_valid(
    checker: SignatureChecker, pdfs: dict[str, bytes]
) -> None:
    verdict = checker.check_pdf(pdfs["valid"][:-200])
    assert verdict.status == S.MODIFIED
    assert verdict.signatures[0].appended_bytes > 0


def test_other_agency_signer_does_not_match_the_sending_agency(
    checker: SignatureChecker, pdfs: dict[str, bytes]
) -> None:
    mapping = {AGENCY_DOMAIN: [AGENCY_ORG]}
    (own,) = checker.check_pdf(pdfs["organisation"]).signatures
    (other,) = checker.check_pdf(pdfs["other_agency"]).signatures
    assert own.signer is not None and other.signer is not None
    assert other.signer.organization == OTHER_AGENCY_ORG
    assert signer_matches_agency(own.signer, AGENCY_DOMAIN, mapping)
    assert not signer_matches_agency(other.signer, AGENCY_DOMAIN, mapping)


@pytest.mark.parametrize(
    "case", ["valid", "appended_garbage", "modified_after_signing", "two_signatures"]
)
def test_appended_bytes_locate_the_signed_prefix(
    checker: SignatureChecker, pdfs: dict[str, bytes], case: str
) -> None:
    data = pdfs[case]
    first = checker.check_pdf(data).signatures[0]
    signed = data[: len(data) - first.appended_bytes]
    assert signed.endswith(b"%%EOF\n")
    assert (first.appended_bytes == 0) == (case == "valid")


def test_hybrid_reference_pdf_with_intact_signature_is_unknown_with_the_reason(
    checker: SignatureChecker, pki: Pki
) -> None:
    verdict = checker.check_pdf(signed_hybrid_pdf(pki))
    (result,) = verdict.signatures
    assert verdict.status == S.UNKNOWN, result
    assert "hybrid-reference PDF" in result.detail and "intact" in result.detail
    assert result.signer is not None and result.signer.common_name == "Nguyễn Văn An"


def test_hybrid_reference_pdf_with_changed_bytes_is_invalid(
    checker: SignatureChecker, pki: Pki
) -> None:
    assert checker.check_pdf(signed_hybrid_pdf(pki, tampered=True)).status == S.INVALID


def test_timestamp_authority_without_a_path_is_a_reason_not_a_traceback(
    pki: Pki, pdfs: dict[str, bytes], trust: TrustSources, caplog: pytest.LogCaptureFixture
) -> None:
    """A fresh checker (no cached verdict) on a timestamp by an authority that chains to
    no trusted root: the reason is on the signature; the log holds no traceback and no
    warning (senders control how many such messages arrive)."""
    caplog.set_level(logging.DEBUG)
    verdict = build_checker(trust, SignatureSettings()).check_pdf(pdfs["forged_timestamp"])
    assert verdict.status == S.UNTRUSTED
    assert verdict.signatures[0].detail == "timestamp: no chain to a trusted anchor"
    pyhanko = [r for r in caplog.records if r.name.startswith("pyhanko")]
    assert any("Failed to build path" in r.getMessage() for r in pyhanko)
    assert all(r.exc_info is None and r.levelno == logging.DEBUG for r in pyhanko), [
        (r.name, r.levelname, r.getMessage()) for r in pyhanko if r.levelno > logging.DEBUG]
