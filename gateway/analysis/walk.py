"""The MIME walk: every leaf of the tree, nested messages and archive members included.

The walk yields `Leaf`s (content to analyse) and the headers of nested
messages, within the limits of `AnalysisLimits`; what it cannot open becomes
a leaf with a `refused` reason. S/MIME signatures are checked on the way down
(they decide what the leaves below inherit). Malformed input never raises:
the email package's reading is taken as the best reading, and its defects
are recorded as problems.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from email.message import Message
from typing import TypeVar

from gateway.analysis import filetypes
from gateway.analysis.descriptions import descriptive_headers
from gateway.analysis.entities import (
    decoded,
    file_name,
    needs_original,
    other_file_names,
    reserialised,
    signature_protocol,
    smime_type_of,
    transfer_decode,
)
from gateway.analysis.headers import read_headers
from gateway.analysis.model import Headers
from gateway.analysis.parsing import parse_inner
from gateway.analysis.ports import SignatureChecking
from gateway.analysis.rawmime import raw_children, split_head
from gateway.analysis.settings import AnalysisLimits
from gateway.analysis.smime import enclosed_content
from gateway.analysis.unpack import ARCHIVES, open_archive
from gateway.signatures.model import SignatureVerdict
from gateway.signatures.outcome import unsupported_format

T = TypeVar("T")
_PKCS7_MIME = frozenset({"application/pkcs7-mime", "application/x-pkcs7-mime"})
_ENCRYPTED_SMIME = frozenset({"enveloped-data", "authenveloped-data"})
_NO_NAMES: tuple[str, ...] = ()
#: The entities a message analysed in the gateway's own process may be made of.
_PLAIN_ENTITIES = frozenset({filetypes.TEXT, filetypes.HTML, "multipart/mixed",
                             "multipart/alternative", "multipart/related"})


class NotPlainText(Exception):
    """A `plain_only` walk met something other than text: an attachment, a document, an
    archive, a forwarded or signed message (its analysis belongs in a worker)."""


@dataclass(frozen=True, slots=True)
class Scope:
    """The container a leaf sits in: a message, or an archive inside one."""

    key: str
    subject: str = ""
    from_address: str | None = None
    inherited: SignatureVerdict | None = None
    from_problem: str | None = None

    @classmethod
    def of(cls, key: str, headers: Headers, inherited: SignatureVerdict | None = None) -> Scope:
        """The scope of a message: its subject and its one From mailbox (`Headers.author`)."""
        author = headers.author.addr_spec if headers.author is not None else None
        return cls(key, headers.subject, author, inherited, headers.author_problem)


@dataclass(frozen=True, slots=True)
class Leaf:
    """One piece of content to analyse, or one that could not be opened (`refused`)."""

    path: str
    filename: str | None
    declared_type: str
    detected_type: str
    data: bytes
    scope: Scope
    charset: str | None = None
    is_body: bool = False
    refused: str | None = None
    size: int | None = None
    other_names: tuple[str, ...] = ()  # its names besides `filename` (an archive member's: folders)


@dataclass(frozen=True, slots=True)
class NestedMessage:
    path: str
    headers: Headers


@dataclass
class Walk:
    """The walk's accumulated findings (mutable while walking, read once at the end)."""

    limits: AnalysisLimits
    signatures: SignatureChecking | None
    leaves: list[Leaf] = field(default_factory=list)
    messages: list[NestedMessage] = field(default_factory=list)
    descriptions: list[tuple[str, str, str]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    message_signature: SignatureVerdict | None = None
    plain_only: bool = False
    parts: int = 0
    budget: int = 0

    def __post_init__(self) -> None:
        self.budget = self.limits.max_decompressed_bytes

    def message(
        self, msg: Message, raw: bytes | None, prefix: str, depth: int, scope: Scope
    ) -> None:
        """Walk a (nested) message; its headers are recorded when it is not the top one."""
        if prefix:
            headers = read_headers(msg)
            self.messages.append(NestedMessage(prefix, headers))
            scope = Scope.of(prefix, headers, scope.inherited)
        self.entity(msg, raw, prefix, depth, scope)

    def entity(
        self, part: Message, raw: bytes | None, path: str, depth: int, scope: Scope
    ) -> None:
        """Dispatch one MIME entity by its content type."""
        if depth > self.limits.max_depth:
            self._refuse(part, path, scope, f"nested deeper than {self.limits.max_depth} levels")
            return
        self._defects(part, path)
        self.descriptions.extend(self._safe(lambda: descriptive_headers(part, path), [], path))
        ctype = self._safe(part.get_content_type, "application/octet-stream", path)
        if self.plain_only and ctype not in _PLAIN_ENTITIES:
            raise NotPlainText(f"{path or 'message'}: {ctype}")
        if ctype == filetypes.RFC822 and isinstance(part.get_payload(), list):
            self._nested(part, raw, path, depth, scope)
        elif part.is_multipart():
            self._multipart(part, raw, path, depth, scope)
        elif ctype in _PKCS7_MIME:
            self._opaque(part, path, depth, scope)
        else:
            self._leaf(part, path, depth, scope)

    def _multipart(
        self, part: Message, raw: bytes | None, path: str, depth: int, scope: Scope
    ) -> None:
        children = [c for c in part.get_payload() if isinstance(c, Message)]
        boundary = self._safe(part.get_boundary, None, path)
        wanted = raw is not None and boundary and needs_original(part, self.limits.max_depth)
        raws = raw_children(raw, boundary) if wanted and raw is not None and boundary else []
        originals: list[bytes | None] = list(raws) if len(raws) == len(children) else []
        if not originals:
            originals = [None] * len(children)
        if part.get_content_type() == "multipart/signed" and len(children) >= 2:
            protocol = self._safe(lambda: signature_protocol(part, children[1]), "", path)
            self._signed(children, originals, path, depth, scope, protocol)
            return
        for index, (child, original) in enumerate(zip(children, originals, strict=True), 1):
            self.entity(child, original, child_path(path, index), depth + 1, scope)

    def _signed(
        self,
        children: list[Message],
        originals: list[bytes | None],
        path: str,
        depth: int,
        scope: Scope,
        protocol: str,
    ) -> None:
        """S/MIME is checked; another signature protocol (PGP/MIME) is `unknown`."""
        content, signed_bytes = children[0], originals[0]
        verdict: SignatureVerdict | None = None
        if self.signatures is not None and protocol not in filetypes.SMIME_SIGNATURES:
            verdict = unsupported_format(protocol)
            self._record_message_signature(path, verdict)
        elif self.signatures is not None:
            if signed_bytes is None:
                self.problems.append(
                    f"{path or 'message'}: multipart/signed content not found in the original "
                    "bytes; checked as re-serialised"
                )
                signed_bytes = self._safe(reserialised(content), b"", path)
            signature = self._safe(lambda: decoded(children[1]), b"", path)
            verdict = self.signatures.check_smime_signed(
                signed_bytes, signature, scope.from_address, scope.from_problem
            )
            self._record_message_signature(path, verdict)
        inner = replace(scope, inherited=verdict) if verdict is not None else scope
        self.entity(content, originals[0], child_path(path, 1), depth + 1, inner)
        for index in range(2, len(children)):
            self.entity(children[index], originals[index], child_path(path, index + 1),
                        depth + 1, scope)

    def _opaque(self, part: Message, path: str, depth: int, scope: Scope) -> None:
        smime_type = self._safe(lambda: smime_type_of(part), "", path)
        if smime_type in _ENCRYPTED_SMIME:
            self._refuse(part, path, scope, "S/MIME encrypted message (cannot be read)")
            return
        data = self._safe(lambda: decoded(part), b"", path)
        verdict: SignatureVerdict | None = None
        if self.signatures is not None:
            sender = (scope.from_address, scope.from_problem)
            verdict, entity = self.signatures.check_smime_opaque(data, *sender)
            self._record_message_signature(path, verdict)
        else:
            entity = enclosed_content(data)
        inner = parse_inner(entity) if entity is not None else None
        if entity is None or inner is None:
            self._refuse(part, path, scope, "S/MIME signed data cannot be opened")
            return
        inner_scope = replace(scope, inherited=verdict) if verdict is not None else scope
        self.entity(inner, entity, f"{leaf_path(path)}/smime/", depth + 1, inner_scope)

    def _nested(
        self, part: Message, raw: bytes | None, path: str, depth: int, scope: Scope
    ) -> None:
        payload = part.get_payload()
        inner = payload[0] if isinstance(payload, list) and payload else None
        original = split_head(raw)[1] if raw is not None else None
        encoding = self._safe(lambda: str(part.get("content-transfer-encoding", "")), "", path)
        encoding = encoding.strip().lower()
        if original is not None and encoding in ("base64", "quoted-printable"):
            original = transfer_decode(original, encoding)
            inner = parse_inner(original)
        if not isinstance(inner, Message):
            self._refuse(part, path, scope, "forwarded message cannot be read")
            return
        self.message(inner, original, f"{leaf_path(path)}/rfc822/", depth + 1, scope)

    def _leaf(self, part: Message, path: str, depth: int, scope: Scope) -> None:
        data = self._safe(lambda: decoded(part), b"", path)
        filename = self._safe(lambda: file_name(part), None, path)
        declared = self._safe(part.get_content_type, "application/octet-stream", path)
        charset = self._safe(part.get_content_charset, None, path)
        disposition = self._safe(part.get_content_disposition, None, path)
        is_body = filename is None and disposition != "attachment" and declared.startswith("text/")
        others = self._safe(lambda: other_file_names(part, filename), _NO_NAMES, path)
        self.content(data, filename, declared, charset, leaf_path(path), depth, scope, is_body,
                     others)

    def content(
        self,
        data: bytes,
        filename: str | None,
        declared: str,
        charset: str | None,
        path: str,
        depth: int,
        scope: Scope,
        is_body: bool = False,
        other_names: tuple[str, ...] = (),
    ) -> None:
        """Add one piece of content; messages and archives inside it are walked too."""
        if not self._admit(path, filename, declared, scope, len(data), charset):
            return
        detected = filetypes.detect_type(data, declared, filename, charset)
        if self.plain_only and not (is_body and detected in (filetypes.TEXT, filetypes.HTML)):
            raise NotPlainText(f"{path}: {detected} {filename or ''}")
        refused = None
        position = len(self.leaves)
        if not is_body and data and (detected == filetypes.RFC822 or (
            filetypes.is_eml(declared, filename) and detected in (filetypes.TEXT, declared)
        )):
            detected = filetypes.RFC822
            inner = parse_inner(data)
            if inner is None:
                refused = "attached message nested too deeply to be parsed"
            else:
                self.message(inner, data, f"{path}/rfc822/", depth + 1, scope)
        elif detected in ARCHIVES:
            refused = self._archive(data, detected, filename, path, depth, scope)
        elif detected in filetypes.UNOPENED_ARCHIVES:
            refused = f"archive format not supported ({detected})"
        self.leaves.insert(
            position,
            Leaf(path, filename, declared, detected, data, scope, charset, is_body, refused,
                 other_names=other_names),
        )

    def _archive(
        self, data: bytes, detected: str, filename: str | None, path: str, depth: int,
        scope: Scope,
    ) -> str | None:
        """Walk an archive's members; returns why the archive itself could not be opened."""
        if depth + 1 > self.limits.max_depth:
            return f"archive nested deeper than {self.limits.max_depth} levels"
        opened = open_archive(data, detected, filename, self.budget, self.limits)
        self.budget -= opened.expanded
        if opened.refused is not None:
            return opened.refused
        inner = replace(scope, key=f"{path}!")
        for member in opened.members:
            member_path = f"{path}!{member.name}"
            *folders, basename = member.name.split("/")
            basename = basename or member.name
            folder_names = tuple(dict.fromkeys(name for name in folders if name))
            if member.refused is not None:
                if not self._admit(member_path, basename, filetypes.OCTET, inner, 0):
                    continue
                self.leaves.append(Leaf(member_path, basename, filetypes.OCTET, filetypes.OCTET,
                                        b"", inner, refused=member.refused,
                                        other_names=folder_names))
                continue
            self.content(member.data, basename, filetypes.OCTET, None, member_path, depth + 1,
                         inner, other_names=folder_names)
        return None

    def unparsable(self, size: int, scope: Scope, reason: str) -> None:
        """The whole message as one refused leaf (the parser itself gave up)."""
        self.parts += 1
        self.problems.append(f"message: {reason}")
        self.leaves.append(Leaf("1", None, "message/rfc822", "message/rfc822", b"", scope,
                                refused=reason, size=size))

    def _refuse(self, part: Message, path: str, scope: Scope, reason: str) -> None:
        filename = self._safe(lambda: file_name(part), None, path)
        others = self._safe(lambda: other_file_names(part, filename), _NO_NAMES, path)
        declared = self._safe(part.get_content_type, "application/octet-stream", path)
        data = self._safe(lambda: decoded(part), b"", path)
        if not self._admit(leaf_path(path), filename, declared, scope, len(data)):
            return
        self.leaves.append(Leaf(leaf_path(path), filename, declared, declared, b"", scope,
                                refused=reason, size=len(data), other_names=others))

    def _admit(
        self, path: str, filename: str | None, declared: str, scope: Scope, size: int,
        charset: str | None = None,
    ) -> bool:
        """Count one part; past `max_parts` only one leaf says the rest was not inspected."""
        self.parts += 1
        if self.parts <= self.limits.max_parts:
            return True
        if self.parts == self.limits.max_parts + 1:
            reason = f"more than {self.limits.max_parts} parts: the rest was not inspected"
            self.leaves.append(Leaf(path, filename, declared, declared, b"", scope,
                                    charset, refused=reason, size=size))
        return False

    def _record_message_signature(self, path: str, verdict: SignatureVerdict) -> None:
        if path == "":
            self.message_signature = verdict

    def _defects(self, part: Message, path: str) -> None:
        for defect in getattr(part, "defects", ()):
            self.problems.append(f"{path or 'message'}: {defect.__class__.__name__}")

    def _safe(self, read: Callable[[], T], default: T, path: str) -> T:
        """A value the email package reads from malformed headers; `default` when it fails."""
        try:
            return read()
        except Exception as exc:  # the email package raises on some malformed input
            self.problems.append(f"{path or 'message'}: unreadable MIME header "
                                 f"({exc.__class__.__name__})")
            return default


def child_path(path: str, index: int) -> str:
    """The part number of child `index` ("1", "2.1", "2/rfc822/1")."""
    return f"{path}{index}" if path == "" or path.endswith("/") else f"{path}.{index}"


def leaf_path(path: str) -> str:
    """A single-part message's body is part 1."""
    return child_path(path, 1) if path == "" or path.endswith("/") else path
