"""pyHanko's difference analysis, completed with the one rule its standard policy lacks.

`StandardDiffPolicy` judges every revision after a signature and grades it with
a `ModificationLevel` (LTA updates < form filling < annotations < other);
pyHanko then compares that level with the signature's DocMDP permission
(`docmdp_ok`). Its default rules know signature fields, form filling and
long-term validation data, but not annotations: a comment added after signing
becomes "other" (see the TODO in pyhanko's form_field_rules), so a change that
a DocMDP level 3 signature expressly permits was reported `modified`.
`AnnotationRule` is written on pyHanko's own rule API and clears comments
(annotations other than form widgets) added, changed or removed at level
ANNOTATIONS; pyHanko's `docmdp_ok` then decides: permitted under level 3 (or
without DocMDP), `modified` under levels 1 and 2. Removing a form widget, or
touching anything else on the page or in the document, stays unexplained
("other") unless another of pyHanko's rules explains it.
pyHanko's policy refuses every freed object; `FreedObjectRule` accepts the freeing
of an object nothing uses any more (a removed comment's, as iText and Acrobat
write it), while a freed object still in use (a page's content) stays unexplained.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import NamedTuple

from pyhanko.pdf_utils import generic, misc
from pyhanko.pdf_utils.reader import HistoricalResolver, RawPdfPath
from pyhanko.sign.diff_analysis import (
    DEFAULT_DIFF_POLICY,
    FormUpdatingRule,
    GenericFieldModificationRule,
    ModificationLevel,
    ReferenceUpdate,
    SigFieldCreationRule,
    SigFieldModificationRule,
    StandardDiffPolicy,
    SuspiciousModification,
    WhitelistRule,
)
from pyhanko.sign.diff_analysis.commons import compare_dicts
from pyhanko.sign.diff_analysis.rules.form_field_rules import _extract_annots_from_page
from pyhanko.sign.diff_analysis.rules_api import RelativeContext

from gateway.signatures.structrules import StructureRule

_MAX_DEPTH = 32


def _page_refs(node: generic.PdfObject, depth: int = 0) -> Iterator[generic.Reference]:
    """The references of the pages under a page tree node, in order."""
    if depth > _MAX_DEPTH:
        raise SuspiciousModification("page tree too deep")
    target = node.get_object()  # type: ignore[no-untyped-call]
    if not isinstance(target, generic.DictionaryObject):
        raise SuspiciousModification("page tree node is not a dictionary")
    for kid in target["/Kids"]:
        if not isinstance(kid, generic.IndirectObject):
            raise SuspiciousModification("page tree kid is not an indirect object")
        if kid.get_object().get("/Type") == "/Pages":  # type: ignore[no-untyped-call]
            yield from _page_refs(kid, depth + 1)
        else:
            yield kid.reference


def _annots(resolver: HistoricalResolver, page: generic.Reference) -> tuple[
        set[generic.Reference], generic.Reference | None]:
    """A page's annotation references and its /Annots array's own reference, if any."""
    try:
        refs, array = _extract_annots_from_page(  # type: ignore[no-untyped-call]
            resolver(page), SuspiciousModification
        )
    except KeyError:
        return set(), None
    return set(refs), array


def _page_keys(before: generic.DictionaryObject) -> frozenset[str]:
    """The page entries an annotation change may set: /Annots, /Tabs, and /StructParents
    when the page had none (the key of its annotations' entry in a tagged document's
    /ParentTree; changing an existing one would re-tag the page's marked content)."""
    keys = frozenset(["/Annots", "/Tabs"])
    return keys if "/StructParents" in before else keys | {"/StructParents"}


def _tab_order(resolver: HistoricalResolver, page: generic.Reference) -> str | None:
    """A page's /Tabs, the order of its annotations for keyboard navigation (ISO 32000
    Table 31): a property of the annotations, so changed at their level."""
    page_dict = resolver(page)
    if "/Tabs" not in page_dict:
        return None
    value = page_dict.raw_get("/Tabs")
    if isinstance(value, generic.NameObject):
        return str(value)
    raise SuspiciousModification("a page's /Tabs is not a name")


def _is_comment(value: generic.PdfObject) -> bool:
    """An annotation that is not a form widget (widgets belong to pyHanko's form rules)."""
    return isinstance(value, generic.DictionaryObject) and value.get("/Subtype") != "/Widget"


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


class _PageAnnots(NamedTuple):
    """A page's annotations in the signed (`before`) and the new revision (`after`), with
    the references of its /Annots arrays."""

    page: generic.Reference
    before: set[generic.Reference]
    old_array: generic.Reference | None
    after: set[generic.Reference]
    new_array: generic.Reference | None

    def updates(self, old: HistoricalResolver) -> Iterator[ReferenceUpdate]:
        """The page, once compared, and its /Annots array."""
        yield ReferenceUpdate(self.page)  # pages are used everywhere: blanket approval
        if self.new_array is not None and (self.new_array == self.old_array
                                           or old.is_ref_unassignable(self.new_array)):
            yield ReferenceUpdate(self.new_array, context_checked=RelativeContext(
                self.page, RawPdfPath("/Annots")))


class _PageAnnotationsRule(WhitelistRule):
    """Walks the pages (the same in both revisions) for `_page` to judge."""

    def apply(
        self, old: HistoricalResolver, new: HistoricalResolver
    ) -> Iterable[ReferenceUpdate]:
        try:
            pages = list(_page_refs(old.root.raw_get("/Pages")))
            if pages != list(_page_refs(new.root.raw_get("/Pages"))):
                return  # a changed page tree is not an annotation change
            changed = new.explicit_refs_in_revision()  # type: ignore[no-untyped-call]
            for page in pages:
                yield from self._page(old, new, _PageAnnots(page, *_annots(old, page),
                                                            *_annots(new, page)), changed)
        except misc.PdfReadError as exc:  # a change the rule cannot read is not explained
            raise SuspiciousModification(f"unreadable annotation change: {exc}") from exc

    def _page(self, old: HistoricalResolver, new: HistoricalResolver, annots: _PageAnnots,
              changed: set[generic.Reference]) -> Iterator[ReferenceUpdate]:
        raise NotImplementedError


class AnnotationRule(_PageAnnotationsRule):
    """Clears comments (annotations other than form widgets) added to, changed on or
    removed from pages, the page dictionaries that list them or set their tab order
    (/Annots and /Tabs; nothing else of the page may change), and the objects made for
    them: ISO 32000 DocMDP level 3."""

    def _page(self, old: HistoricalResolver, new: HistoricalResolver, annots: _PageAnnots,
              changed: set[generic.Reference]) -> Iterator[ReferenceUpdate]:
        page, before, after = annots.page, annots.before, annots.after
        added = {ref for ref in after - before if _is_comment(new(ref))}
        removed = before - after
        edited = {ref for ref in before & after & changed
                  if _is_comment(old(ref)) and _is_comment(new(ref))}
        tabs = _tab_order(new, page)
        if not (added or removed or edited or tabs != _tab_order(old, page)):
            return
        if any(not _is_comment(old(ref)) for ref in removed):
            raise SuspiciousModification("a form widget was removed from a page")
        if any(not old.is_ref_unassignable(ref) for ref in added):
            raise SuspiciousModification("an added annotation reuses an older object")
        if before != after or tabs != _tab_order(old, page):
            compare_dicts(old(page), new(page), _page_keys(old(page)))
            yield from annots.updates(old)
        for ref in added | edited:
            yield ReferenceUpdate(ref)
            for dependency in _new_dependencies(old, new(ref)):
                yield ReferenceUpdate(dependency)


def _is_signature_widget(annotation: generic.PdfObject) -> bool:
    """A widget of a signature field (merged with its field, or one of its /Kids)."""
    if not (isinstance(annotation, generic.DictionaryObject)
            and annotation.get("/Subtype") == "/Widget"):
        return False
    try:
        field = annotation["/Parent"]  # resolved (`get` would not resolve it)
    except KeyError:
        field = annotation
    return isinstance(field, generic.DictionaryObject) and field.get("/FT") == "/Sig"


class SignatureWidgetRule(_PageAnnotationsRule):
    """Clears a page that only gained new signature widgets (nothing removed, nothing
    else of the page changed) at level LTA_UPDATES: the page binding pyHanko's
    `SigFieldCreationRule` approves, without its refusal of every other annotation
    change in the same comparison (a comment added under DocMDP 3, then a second
    signature: both revisions are compared with the signed one at once). Other
    annotation changes are `AnnotationRule`'s; the widgets and fields themselves stay
    pyHanko's form rules'."""

    def _page(self, old: HistoricalResolver, new: HistoricalResolver, annots: _PageAnnots,
              changed: set[generic.Reference]) -> Iterator[ReferenceUpdate]:
        added = annots.after - annots.before
        if not added or not annots.before <= annots.after or not all(
                old.is_ref_unassignable(ref) and _is_signature_widget(new(ref))
                for ref in added):
            return
        page = annots.page
        if compare_dicts(old(page), new(page), frozenset(["/Annots"]), raise_exc=False):
            yield from annots.updates(old)


class FreedObjectRule(WhitelistRule):
    """Clears objects freed by a revision that nothing in the new revision refers to any
    more (a removed comment, a dropped outline item, garbage): freeing such an object
    changes nothing a reader shows. Dropping the reference to it is a change of its own,
    which another rule must explain. An object freed while still referenced reads as
    null where it was used (a page's content stream, say) and stays unexplained."""

    def apply(
        self, old: HistoricalResolver, new: HistoricalResolver
    ) -> Iterable[ReferenceUpdate]:
        freed = new.refs_freed_in_revision()  # type: ignore[no-untyped-call]
        if not freed:
            return
        try:
            new._load_reverse_xref_cache()  # type: ignore[no-untyped-call]
        except misc.PdfReadError as exc:  # strict reading of a freed object still in use
            raise SuspiciousModification(f"a freed object is still used: {exc}") from exc
        for ref in freed:
            if not new._get_usages_of_ref(ref):
                yield ReferenceUpdate(ref)


class OrphanRule(WhitelistRule):
    """Clears new objects nothing reaches (some writers leave such garbage), as
    pyHanko's `ignore_orphaned_objects` does, but without reading the objects the
    revision frees: a strict reader refuses to read those."""

    def apply(
        self, old: HistoricalResolver, new: HistoricalResolver
    ) -> Iterable[ReferenceUpdate]:
        previous = new.reader.get_historical_resolver(new.revision - 1)
        freed = new.refs_freed_in_revision()  # type: ignore[no-untyped-call]
        written = new.explicit_refs_in_revision() - freed  # type: ignore[no-untyped-call]
        orphans = {ref for ref in written if previous.is_ref_unassignable(ref)}
        try:
            roots: list[generic.PdfObject] = [new.trailer_view]
            roots += [new(ref) for ref in written - orphans]
            for root in roots:
                if not orphans:
                    break
                orphans -= new.collect_dependencies(root, since_revision=new.revision)
        except misc.PdfReadError as exc:
            raise SuspiciousModification(f"unreadable object: {exc}") from exc
        for ref in orphans:
            yield ReferenceUpdate(ref)


#: pyHanko's default policy plus comments at level ANNOTATIONS and the freeing of
#: objects no longer used (pyHanko's own policy refuses every freeing).
DIFF_POLICY = StandardDiffPolicy(
    global_rules=[
        *DEFAULT_DIFF_POLICY.global_rules,
        AnnotationRule().as_qualified(ModificationLevel.ANNOTATIONS),
        FreedObjectRule().as_qualified(ModificationLevel.LTA_UPDATES),
        OrphanRule().as_qualified(ModificationLevel.LTA_UPDATES),
        StructureRule().as_qualified(ModificationLevel.FORM_FILLING),
        SignatureWidgetRule().as_qualified(ModificationLevel.LTA_UPDATES),
    ],
    form_rule=FormUpdatingRule(field_rules=[
        # ISO 32000 12.8.2.2 permits signing under DocMDP 2 and 3, as Acrobat does; a
        # new visible signature is judged at FORM_FILLING (so still refused under 1).
        SigFieldCreationRule(  # type: ignore[no-untyped-call]
            approve_widget_bindings=False, allow_new_visible_after_certify=True),
        SigFieldModificationRule(),
        GenericFieldModificationRule(),
    ]),
    reject_object_freeing=False,
    ignore_orphaned_objects=False,
)
