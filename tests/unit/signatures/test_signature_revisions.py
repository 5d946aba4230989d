"""Difference analysis against the signature's DocMDP level: a change it permits (form
filling at level 2, annotations at level 3, either without DocMDP) is not `modified`;
anything it does not permit stays `modified`."""

from __future__ import annotations

import io

import pytest
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader

from gateway.signatures.checker import SignatureChecker
from gateway.signatures.model import SignatureStatus
from tests.fixtures.pki import Pki
from tests.fixtures.revisions import (
    change_page_content,
    countersigned_cases,
    form_pdf,
    remove_signature_field,
    revision_cases,
    sign,
)


@pytest.fixture(scope="module")
def cases(pki: Pki) -> dict[str, tuple[bytes, bool]]:
    return revision_cases(pki.person)


CASES = [
    "certified_3_annotation", "certified_3_form_filled", "certified_2_form_filled",
    "approval_annotation", "approval_form_filled", "certified_2_annotation",
    "certified_1_annotation", "certified_1_form_filled",
    "certified_3_annotation_and_content", "certified_3_annotation_edited",
    "certified_2_annotation_edited", "certified_3_widget_removed",
    "certified_3_comment_removed_freed", "certified_2_comment_removed_freed",
    "approval_page_content_freed", "certified_3_comment_removed_content_freed",
    "certified_3_tab_order", "certified_2_tab_order", "certified_3_tab_order_and_content",
    "certified_3_tagged_comment", "approval_tagged_comment", "certified_2_tagged_comment",
    "certified_1_tagged_comment", "certified_3_tagged_comment_actual_text",
    "certified_3_tagged_comment_retags_page", "approval_stray_signature_widget",
]


@pytest.mark.parametrize("case", CASES)
def test_permitted_changes_are_not_modified(
    checker: SignatureChecker, cases: dict[str, tuple[bytes, bool]], case: str
) -> None:
    pdf, permitted = cases[case]
    verdict = checker.check_pdf(pdf)
    (result,) = verdict.signatures
    expected = SignatureStatus.VALID if permitted else SignatureStatus.MODIFIED
    assert verdict.status == expected, result
    assert result.later_revisions >= 1


def test_every_case_is_listed(cases: dict[str, tuple[bytes, bool]]) -> None:
    assert sorted(cases) == sorted(CASES)


def test_the_change_is_named(checker: SignatureChecker,
                             cases: dict[str, tuple[bytes, bool]]) -> None:
    allowed = checker.check_pdf(cases["certified_3_annotation"][0]).signatures[0]
    assert allowed.modification == "annotations"
    refused = checker.check_pdf(cases["certified_2_annotation"][0]).signatures[0]
    assert refused.modification == "annotations"
    assert "DocMDP" in refused.detail


@pytest.mark.parametrize("case", [
    "certified_3_comment_removed_freed", "certified_2_comment_removed_freed",
    "approval_page_content_freed", "certified_3_comment_removed_content_freed",
])
def test_freeing_cases_free_objects(cases: dict[str, tuple[bytes, bool]], case: str) -> None:
    """The fixtures' last revision really frees objects (the reader sees "f" entries)."""
    reader = PdfFileReader(io.BytesIO(cases[case][0]))
    last = reader.xrefs.total_revisions - 1
    assert reader.xrefs.refs_freed_in_revision(last)


@pytest.mark.parametrize("case", [
    "certified_3_comment_then_signed", "certified_3_comment_removed_then_signed",
    "certified_2_comment_then_signed", "certified_3_content_then_signed",
    "certified_2_visible_signature_then_signed",
    "certified_2_visible_signature_content_then_signed",
])
def test_permitted_changes_then_a_second_signature(
    checker: SignatureChecker, pki: Pki, case: str
) -> None:
    """A comment added (or removed) under DocMDP 3, or a visible signature under 2, then
    the organisation's signature in a new field: the first signature is judged against
    both later revisions at once."""
    pdf, permitted = countersigned_cases(pki.person)[case]
    first, *others = checker.check_pdf(pdf).signatures
    assert first.status == (SignatureStatus.VALID if permitted else SignatureStatus.MODIFIED), first
    assert first.later_revisions >= 2
    assert others[-1].status == SignatureStatus.VALID, others[-1]


def test_a_signature_field_removed_by_a_later_revision_is_modified(
        checker: SignatureChecker, pki: Pki) -> None:
    """The README's `modified`: the document was signed, then changed so that no field
    holds the signature any more (here with new page content as well)."""
    signed = sign(form_pdf(), pki.person, None)
    for changed in (remove_signature_field(signed),
                    change_page_content(remove_signature_field(signed))):
        verdict = checker.check_pdf(changed)
        assert verdict.status is SignatureStatus.MODIFIED, verdict
        assert "a later revision removed its signature field" in verdict.signatures[0].detail


def test_a_signature_dictionary_never_in_a_field_stays_unknown(checker: SignatureChecker) -> None:
    writer = IncrementalPdfFileWriter(io.BytesIO(form_pdf()))
    writer.add_object(generic.DictionaryObject({
        generic.NameObject("/Type"): generic.NameObject("/Sig"),
        generic.NameObject("/ByteRange"): generic.ArrayObject([generic.NumberObject(0)] * 4)}))
    out = io.BytesIO()
    writer.write(out)  # type: ignore[no-untyped-call]
    verdict = checker.check_pdf(out.getvalue())
    assert verdict.status is SignatureStatus.UNKNOWN, verdict
    assert "no filled signature field" in verdict.signatures[0].detail
