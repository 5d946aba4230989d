"""The gateway's header namespace (`X-TTH-…`) is its own: such fields arriving in a message
are removed (or renamed `X-TTH-Original-…`) as the message is read, before any analysis
and before the gateway adds its own, so nobody can forge "signature=valid".

The header section is filtered field by field as the bytes stream past, and every
other field keeps its exact bytes (a DKIM signature over them stays valid). A field
is a line starting with a name and a colon plus the continuation lines after it
(RFC 5322 2.2.3); the header section ends at the first empty line, or at the first
line that is neither a field nor a continuation (as Postfix and Python's email
parser read it). Names are compared case-insensitively, with any blank before the
name or before the colon ignored, so that no reader that is more lenient than the
RFC can find a forged field the gateway left in place.

Two lines are not passed on as written, because readers disagree on them:
- a field written `Name : value` (RFC 5322 4.5.3's obsolete blank before the colon)
  passes as `Name: value`. Python's email parser ends the header section at such a
  line while Postfix and mail readers take it as a field, so a `From` after it would
  reach the reader without the gateway's analysis and DMARC having seen it;
- continuation lines at the very top, which continue no field, are dropped: the
  parser skips them, and after the field the gateway adds on top they would become
  part of that field's value (a forged `signature=valid` in the gateway's own words).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

ForgedHeaders = Literal["remove", "rename"]
_BLANK = b" \t"
_CRLF = b"\r\n"


@dataclass(frozen=True, slots=True)
class Namespace:
    """Name prefixes the gateway owns and what becomes of them on entry."""

    prefixes: tuple[str, ...] = ("X-TTH-",)
    forged: ForgedHeaders = "remove"

    def owner(self, name: bytes) -> bytes | None:
        """The prefix (as configured) that `name` falls under, or None."""
        folded = name.strip(_BLANK).decode("ascii", "replace").casefold()
        for prefix in self.prefixes:
            if folded.startswith(prefix.casefold()):
                return prefix.encode("ascii")
        return None


@dataclass(slots=True)
class HeaderFilter:
    """Feeds on the message as received; `feed` returns what may pass on.

    `found` lists the names of the fields removed or renamed, as they were written.
    """

    namespace: Namespace
    found: list[str] = field(default_factory=list)
    _partial: bytes = b""
    _in_header: bool = True
    _field: Literal["none", "kept", "dropped"] = "none"

    def feed(self, data: bytes) -> bytes:
        if not self._in_header:
            return data
        block = self._partial + data
        out: list[bytes] = []
        start = 0
        while self._in_header:
            end = block.find(_CRLF, start)
            if end < 0:
                break
            out.append(self._line(block[start : end + 2]))
            start = end + 2
        self._partial = block[start:] if self._in_header else b""
        if not self._in_header:
            out.append(block[start:])
        return b"".join(out)

    def finish(self) -> bytes:
        """What is left when the message ends inside its header section."""
        partial, self._partial = self._partial, b""
        return self._line(partial) if partial else b""

    def _line(self, line: bytes) -> bytes:
        """One line of the header section, as it may pass on (b"" when dropped).

        A line starting with a blank continues the field before it; the first line
        of the section has none: it is dropped, unless it names one of the gateway's
        fields (which is then removed or renamed as any other).
        """
        if line == _CRLF:
            self._in_header = False
            return line
        orphan = line[:1] in (b" ", b"\t")
        if orphan and self._field != "none":
            return b"" if self._field == "dropped" else line
        written, colon, rest = line.partition(b":")
        name = written.strip(_BLANK)
        if not colon or not name:
            if orphan:
                self._field = "dropped"
                return b""
            self._in_header = False
            return line
        prefix = self.namespace.owner(name)
        renamed = None if prefix is None else self._renamed(name, prefix)
        self._field = "kept"
        if prefix is None or (self.namespace.forged == "rename" and renamed is None):
            if orphan:
                self._field = "dropped"
                return b""
            return line if written == name else name + b":" + rest
        self.found.append(name.decode("ascii", "replace"))
        if renamed is not None and self.namespace.forged == "rename":
            return renamed + b":" + rest
        self._field = "dropped"
        return b""

    @staticmethod
    def _renamed(name: bytes, prefix: bytes) -> bytes | None:
        """`X-TTH-Documents` -> `X-TTH-Original-Documents`; None when already an original."""
        rest = name[len(prefix) :]
        original = b"Original-"
        if rest.lower().startswith(original.lower()):
            return None
        return prefix + original + rest


def strip_own(message: bytes, namespace: Namespace) -> tuple[bytes, list[str]]:
    """`message` with the namespace's fields removed or renamed, and their names."""
    headers = HeaderFilter(namespace)
    kept = headers.feed(message) + headers.finish()
    return kept, headers.found
