"""The tagged structure's bookkeeping for an annotation or signature field added after
signing, as a rule of pyHanko's difference analysis.

A tagged PDF (ISO 32000 14.7) lists every annotation in its structure tree: adding a
comment or a signature widget also appends a structure element (an /OBJR pointing at
the annotation) to an existing element's /K, and rewrites the /ParentTree index and
/ParentTreeNextKey of the /StructTreeRoot. pyHanko's standard policy explains none of
that, so every annotation or signature added to a tagged document was `modified`.
`StructureRule` clears exactly that bookkeeping: an existing element whose /K only
gains new elements (nothing else of it changes, nothing of it is removed or
reordered), new elements whose content is only object references to annotations
(no marked content of a page, so no page text is re-tagged), a new /ParentTree made
of new objects, and the root's two index entries. Whether the annotation itself is
permitted is decided by the annotation and form rules at their own level; changed
alternate text (/Alt, /ActualText), removed or re-tagged elements stay unexplained.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from pyhanko.pdf_utils import generic, misc
from pyhanko.pdf_utils.reader import HistoricalResolver
from pyhanko.sign.diff_analysis import ReferenceUpdate, SuspiciousModification, WhitelistRule
from pyhanko.sign.diff_analysis.commons import compare_dicts

_MAX_DEPTH = 32
_ROOT_INDEX = frozenset(["/ParentTree", "/ParentTreeNextKey"])


def _kids(element: generic.DictionaryObject) -> list[generic.PdfObject]:
    """A structure element's /K as a list (it may be a single item), unresolved."""
    if "/K" not in element:
        return []
    value = element.raw_get("/K")
    return list(value) if isinstance(value, generic.ArrayObject) else [value]


def _is_element(value: generic.PdfObject) -> bool:
    return isinstance(value, generic.DictionaryObject) and "/S" in value and "/P" in value


def _same(a: generic.PdfObject, b: generic.PdfObject, depth: int = 0) -> bool:
    """Equal as written: references by their number, containers item by item."""
    if depth > _MAX_DEPTH:
        raise SuspiciousModification("structure nested too deep")
    if isinstance(a, generic.IndirectObject) or isinstance(b, generic.IndirectObject):
        return (isinstance(a, generic.IndirectObject) and isinstance(b, generic.IndirectObject)
                and a.reference == b.reference)
    if isinstance(a, generic.DictionaryObject) and isinstance(b, generic.DictionaryObject):
        return a.keys() == b.keys() and all(
            _same(a.raw_get(k), b.raw_get(k), depth + 1) for k in a)
    if isinstance(a, generic.ArrayObject) and isinstance(b, generic.ArrayObject):
        return len(a) == len(b) and all(_same(x, y, depth + 1) for x, y in zip(a, b, strict=True))
    return type(a) is type(b) and a == b


def _appended(old: list[generic.PdfObject], new: list[generic.PdfObject]
              ) -> list[generic.PdfObject]:
    """The items of `new` that are not `old`'s, when `old` is kept whole and in order."""
    added: list[generic.PdfObject] = []
    remaining = iter(old)
    pending = next(remaining, None)
    for item in new:
        if pending is not None and _same(item, pending):
            pending = next(remaining, None)
        else:
            added.append(item)
    if pending is not None:
        raise SuspiciousModification("a structure element lost or reordered its content")
    return added


def _is_objr(value: generic.PdfObject) -> bool:
    """An object reference (OBJR) to an annotation."""
    if not (isinstance(value, generic.DictionaryObject) and value.get("/Type") == "/OBJR"):
        return False
    try:
        annotation = value["/Obj"]  # resolved (`get` would not resolve it)
    except KeyError:
        return False
    return isinstance(annotation, generic.DictionaryObject) and "/Subtype" in annotation


def _annotation_refs_only(element: generic.DictionaryObject) -> bool:
    """Whether an element's content is only object references to annotations."""
    kids = _kids(element)
    return bool(kids) and all(
        _is_objr(kid.get_object()) for kid in kids)  # type: ignore[no-untyped-call]


def _added_element(old: HistoricalResolver, parent: generic.Reference,
                   item: generic.PdfObject) -> generic.Reference | None:
    """Checks an item added to the /K of element `parent`: a new element (returned, to be
    cleared) tagging only annotations, or a direct reference to a new annotation."""
    if isinstance(item, generic.DictionaryObject):
        annotation = item.raw_get("/Obj") if "/Obj" in item else None
        if _is_objr(item) and isinstance(annotation, generic.IndirectObject) \
                and old.is_ref_unassignable(annotation.reference):
            return None
        raise SuspiciousModification("a structure element gained other than an annotation")
    if not (isinstance(item, generic.IndirectObject) and old.is_ref_unassignable(item.reference)):
        raise SuspiciousModification("a structure element gained older content")
    element = item.get_object()  # type: ignore[no-untyped-call]
    up = element.raw_get("/P") if _is_element(element) else None
    if not (isinstance(up, generic.IndirectObject) and up.reference == parent
            and _annotation_refs_only(element)):
        raise SuspiciousModification("an added structure element tags more than annotations")
    return item.reference


def _new_index_objects(
    old: HistoricalResolver, node: generic.PdfObject, depth: int = 0
) -> Iterator[generic.Reference]:
    """The objects of a number tree (/ParentTree) that the signed revision did not have:
    its nodes and the arrays it maps keys to, never the structure elements it lists."""
    if depth > _MAX_DEPTH:
        raise SuspiciousModification("parent tree too deep")
    if isinstance(node, generic.IndirectObject):
        if not old.is_ref_unassignable(node.reference):
            raise SuspiciousModification("the new parent tree reuses an older object")
        yield node.reference
        node = node.get_object()  # type: ignore[no-untyped-call]
    if not isinstance(node, generic.DictionaryObject):
        raise SuspiciousModification("a parent tree node is not a dictionary")
    for kid in node.raw_get("/Kids") if "/Kids" in node else ():
        yield from _new_index_objects(old, kid, depth + 1)
    values = list(node.raw_get("/Nums"))[1::2] if "/Nums" in node else []
    for value in values:
        if not (isinstance(value, generic.IndirectObject)
                and old.is_ref_unassignable(value.reference)):
            continue
        target = value.get_object()  # type: ignore[no-untyped-call]
        if not isinstance(target, generic.ArrayObject):
            continue  # an annotation's element: cleared as an element, if at all
        if not all(isinstance(item, (generic.IndirectObject, generic.NullObject))
                   for item in target):
            raise SuspiciousModification("a parent tree entry is not a list of elements")
        yield value.reference


def _parent_tree(resolver: HistoricalResolver, root: generic.Reference
                 ) -> generic.PdfObject | None:
    tree_root = resolver(root)
    if not isinstance(tree_root, generic.DictionaryObject) or "/ParentTree" not in tree_root:
        return None
    value: generic.PdfObject = tree_root.raw_get("/ParentTree")
    return value


class StructureRule(WhitelistRule):
    """Clears the structure tree's bookkeeping for annotations added after signing."""

    def apply(
        self, old: HistoricalResolver, new: HistoricalResolver
    ) -> Iterable[ReferenceUpdate]:
        if "/StructTreeRoot" not in old.root or "/StructTreeRoot" not in new.root:
            return
        try:
            yield from self._apply(old, new)
        except misc.PdfReadError as exc:
            raise SuspiciousModification(f"unreadable structure change: {exc}") from exc

    @staticmethod
    def _apply(old: HistoricalResolver, new: HistoricalResolver) -> Iterator[ReferenceUpdate]:
        root = new.root.raw_get("/StructTreeRoot")
        if not isinstance(root, generic.IndirectObject) or \
                root != old.root.raw_get("/StructTreeRoot"):
            return
        changed = new.explicit_refs_in_revision()  # type: ignore[no-untyped-call]
        if root.reference in changed:
            compare_dicts(old(root.reference), new(root.reference), _ROOT_INDEX)
            yield ReferenceUpdate(root.reference)
            index = _parent_tree(new, root.reference)
            if index is not None and index != _parent_tree(old, root.reference):
                for ref in _new_index_objects(old, index):
                    yield ReferenceUpdate(ref)
        for ref in changed - new.refs_freed_in_revision():  # type: ignore[no-untyped-call]
            if old.is_ref_unassignable(ref) or not _is_element(old(ref)):
                continue
            before, after = old(ref), new(ref)
            if not _is_element(after):
                continue
            compare_dicts(before, after, frozenset(["/K"]))
            added = _appended(_kids(before), _kids(after))
            for item in added:
                element = _added_element(old, ref, item)
                if element is not None:
                    yield ReferenceUpdate(element)
            yield ReferenceUpdate(ref)
