"""pyHanko's difference analysis, completed with the one rule its standard policy lacks.

`StandardDiffPolicy` judges every revision after a signature and grades it with
a `ModificationLevel` (LTA updates < form filling < annotations < other);
pyHanko then compares that level with the signature's DocMDP permission
(`docmdp_ok`). Its default rules know signature fields, form filling and
long-term validation data, but not annotations: a comment added after signing
becomes "other" (see the TODO in pyhanko's form_field_rules), so a change that
a DocMDP level 3 signature expressly permits was reported `modified`.
`AnnotationAdditionRule` is written on pyHanko's own rule API and clears new,
non-widget annotations added to pages at level ANNOTATIONS; pyHanko's
`docmdp_ok` then decides: permitted under level 3 (or without DocMDP),
`modified` under levels 1 and 2. Deleting or changing an existing annotation,
or touching anything else on the page, stays unexplained ("other").
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.reader import HistoricalResolver
from pyhanko.sign.diff_analysis import (
    DEFAULT_DIFF_POLICY,
    ModificationLevel,
    ReferenceUpdate,
    StandardDiffPolicy,
    SuspiciousModification,
    WhitelistRule,
)
from pyhanko.sign.diff_analysis.rules.form_field_rules import (
    _extract_annots_from_page,
    _walk_page_tree_annots,
)

_MAX_DEPTH = 32


def _pages(node: generic.PdfObject, depth: int = 0) -> Iterator[generic.DictionaryObject]:
    """The page dictionaries under a page tree node, in order."""
    if depth > _MAX_DEPTH:
        raise SuspiciousModification("page tree too deep")
    node = node.get_object()  # type: ignore[no-untyped-call]
    if not isinstance(node, generic.DictionaryObject):
        raise SuspiciousModification("page tree node is not a dictionary")
    if node.get("/Type") == "/Pages":
        for kid in node["/Kids"]:
            yield from _pages(kid, depth + 1)
    else:
        yield node


def _annotations(resolver: HistoricalResolver) -> dict[generic.Reference, generic.PdfObject]:
    """Every annotation referenced from a page's /Annots in this revision."""
    found: dict[generic.Reference, generic.PdfObject] = {}
    for page in _pages(resolver.root["/Pages"]):
        try:
            refs, _ = _extract_annots_from_page(  # type: ignore[no-untyped-call]
                page, SuspiciousModification
            )
        except KeyError:
            continue
        for ref in refs:
            found[ref] = resolver(ref)
    return found


def _new_dependencies(
    old: HistoricalResolver, value: generic.PdfObject, depth: int = 0
) -> Iterator[generic.Reference]:
    """Objects created with an annotation (its appearance streams, a popup): references
    that did not exist in the signed revision, reached from `value`."""
    if depth > _MAX_DEPTH:
        raise SuspiciousModification("annotation nested too deep")
    if isinstance(value, generic.IndirectObject):
        if old.is_ref_unassignable(value.reference):
            yield value.reference
            target = value.get_object()  # type: ignore[no-untyped-call]
            yield from _new_dependencies(old, target, depth + 1)
    elif isinstance(value, generic.DictionaryObject):  # streams are dictionaries too
        for key, item in value.items():
            if key not in ("/P", "/Parent", "/IRT"):  # back references to older objects
                yield from _new_dependencies(old, item, depth + 1)
    elif isinstance(value, generic.ArrayObject):
        for item in value:
            yield from _new_dependencies(old, item, depth + 1)


class AnnotationAdditionRule(WhitelistRule):
    """Clears new annotations (not form widgets, which the form rules judge) appended to
    pages' /Annots, the pages that carry them, and the objects made for them."""

    def apply(
        self, old: HistoricalResolver, new: HistoricalResolver
    ) -> Iterable[ReferenceUpdate]:
        before = _annotations(old)
        added = {ref: annot for ref, annot in _annotations(new).items() if ref not in before}
        comments = {ref: annot for ref, annot in added.items()
                    if isinstance(annot, generic.DictionaryObject)
                    and annot.get("/Subtype") != "/Widget"}
        if not comments:
            return
        if any(not old.is_ref_unassignable(ref) for ref in comments):
            raise SuspiciousModification("an added annotation reuses an object of the "
                                         "signed revision")
        yield from _walk_page_tree_annots(
            old.root["/Pages"], new.root["/Pages"], dict.fromkeys(added), old,
            valid_when_locked=False, refs_seen=set(),
        )
        for ref, annot in comments.items():
            yield ReferenceUpdate(ref)
            for dependency in _new_dependencies(old, annot):
                yield ReferenceUpdate(dependency)


#: pyHanko's default policy plus annotations at level ANNOTATIONS.
DIFF_POLICY = StandardDiffPolicy(
    global_rules=[
        *DEFAULT_DIFF_POLICY.global_rules,
        AnnotationAdditionRule().as_qualified(ModificationLevel.ANNOTATIONS),
    ],
    form_rule=DEFAULT_DIFF_POLICY.form_rule,
)
