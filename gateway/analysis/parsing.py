"""The email package's parser as the analysis uses it: each header field parsed once.

`policy.default`'s header registry (RFC 2047 encoded words, RFC 2231
parameters) parses a field every time it is read: `Message.get` hands the raw
value to the registry again, and the registry builds a new class for the field
on every call. The parser itself reads an entity's Content-Type several times,
the walk reads it again for its type, its boundary, its charset, its file name:
about eleven parses of every Content-Type. Here a message keeps the parsed
value of each field it has read (its policy keeps them, one policy per message
parsed, shared by the message's parts), so every reader gets the same parsed
value, a field repeated word for word in many parts is parsed once, and the
registry builds each header class once. Nothing is parsed differently: the
parsed values are those of the standard registry.

The structural MIME fields (Content-Type, Content-Transfer-Encoding,
Content-Disposition, MIME-Version) repeat word for word across messages
(`text/plain; charset="utf-8"`, `base64`): their parsed values are kept for the
whole process too, at most `SHARED_FIELDS` of them and none longer than
`SHARED_FIELD_LENGTH` characters. A parsed field is a read-only value (a `str`
with attributes); a value with a boundary or a file name is new in most messages
and simply drops out of the cache again.
"""

from __future__ import annotations

import email
from email.message import EmailMessage, Message
from email.parser import BytesHeaderParser
from email.policy import EmailPolicy
from functools import lru_cache
from typing import Any

from gateway.analysis.blocks import parse_in_blocks
from gateway.mail.headers import HEADER_FACTORY


class _Entity(EmailMessage):
    """An `EmailMessage` reading the parameter list of a field value once.

    `get_param` (and with it `get_filename`, `get_boundary`, `get_content_charset`)
    reads parameters with the email package's own splitter, not the registry, on
    every call; its reading of each field value is kept with the parsed fields.
    """

    def _get_params_preserve(self, failobj: Any, header: str) -> Any:
        kept = getattr(self.policy, "params", None)
        value = self.get(header)
        if kept is None or value is None:
            return super()._get_params_preserve(failobj, header)  # type: ignore[misc]
        key = (header.lower(), str(value))
        params = kept.get(key)
        if params is None:
            params = kept[key] = super()._get_params_preserve(failobj, header)  # type: ignore[misc]
        return list(params)  # a copy: the caller may change its list


SHARED_FIELDS = 1024
SHARED_FIELD_LENGTH = 256
_STRUCTURAL = frozenset({
    "content-type", "content-transfer-encoding", "content-disposition", "mime-version",
})


class _ParsedOnce(EmailPolicy):
    """`policy.default` keeping each field it parsed: one instance per message parsed."""

    fields: dict[tuple[str, str], Any] | None = None
    params: dict[tuple[str, str], Any] | None = None

    def header_fetch_parse(self, name: str, value: Any) -> Any:
        if self.fields is None or type(value) is not str:  # a header object set by a program
            return super().header_fetch_parse(name, value)
        parsed = self.fields.get((name, value))
        if parsed is None:
            parsed = self.fields[(name, value)] = self._parse_field(name, value)
        return parsed

    def _parse_field(self, name: str, value: str) -> Any:
        if len(value) <= SHARED_FIELD_LENGTH and name.lower() in _STRUCTURAL:
            return _parse_structural(name, value)
        return super().header_fetch_parse(name, value)

    def for_one_message(self) -> _ParsedOnce:
        """A copy keeping its own parsed fields (they live as long as the message)."""
        return self.clone(fields={}, params={})  # type: ignore[call-arg]  # this subclass's


#: The standard header registry (policy.default's), each header class built once.
#: policy.default (RFC 2047/2231 decoding by the standard registry), header classes built once.
PARSE_POLICY = _ParsedOnce(header_factory=HEADER_FACTORY, message_factory=_Entity)


@lru_cache(maxsize=SHARED_FIELDS)
def _parse_structural(name: str, value: str) -> Any:
    """A structural MIME field as the registry parses it, kept for the whole process."""
    return EmailPolicy.header_fetch_parse(PARSE_POLICY, name, value)


def parse(message: bytes) -> Message:
    """The message as the email package reads it (policy=default: RFC 2231/2047 decoded),
    its long base64 runs read in whole blocks (`gateway.analysis.blocks`)."""
    return parse_in_blocks(message, _parse_whole)


def _parse_whole(message: bytes) -> Message:
    return email.message_from_bytes(message, policy=PARSE_POLICY.for_one_message())


def parse_inner(data: bytes) -> Message | None:
    """An enclosed message or entity; None when it nests deeper than the parser's stack."""
    try:
        return parse(data)
    except RecursionError:
        return None


def parse_headers(message: bytes) -> Message:
    """Only the header block (for messages whose body the parser cannot take)."""
    return BytesHeaderParser(policy=PARSE_POLICY.for_one_message()).parsebytes(message)
