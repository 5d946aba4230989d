"""Read the header fields the policies decide on; never raises on malformed input.

Addresses come out with decoded display names (NFC) and canonical domains
(IDNA Unicode form, lowercase: see `gateway.mail.addresses`); their
`addr_spec` is the local part as written (quoted when needed) `@` the
canonical domain. Everything suspicious lands in `Headers.problems` as
`"<field>: <what>"`, lowercase field names, so that policies can match it.
"""

from __future__ import annotations

import codecs
import re
import unicodedata
from collections.abc import Iterable, Iterator
from email import policy
from email.headerregistry import Address as StdAddress
from email.headerregistry import BaseHeader
from email.message import Message
from functools import lru_cache

from gateway.analysis.encoded import decode_unstructured, eight_bit_text, join_encoded_runs
from gateway.analysis.model import Address, Headers
from gateway.mail.addresses import from_std, quote_local, read_address_field

_DECODER = policy.SMTPUTF8
_FOLD = re.compile(r"\r?\n(?=[ \t])")
_ADDRESS_LIKE = re.compile(
    r"[^\s<>()\"',;:@]+\s*(?:@|＠|\(at\)|\[at\])\s*[^\s<>()\"',;:@]+\.[^\s<>()\"',;:@]+"
)
_FORMAT_CHARACTERS = frozenset({"Cc", "Cf"})
_CHARSET = re.compile(r"=\?([^?*\s]+)(?:\*[^?]*)?\?[bBqQ]\?")
#: Address fields kept parsed, and encoded words kept decoded, per process (correspondents
#: write the same fields again).
KEPT_FIELDS = 2048
KEPT_FIELD_LENGTH = 512
_ADDRESS_FIELDS = ("from", "sender", "reply-to", "to", "cc")
FORWARDING_FIELDS = (
    "x-forwarded-for",
    "x-forwarded-to",
    "resent-from",
    "resent-sender",
    "resent-to",
    "resent-cc",
    "resent-bcc",
    "resent-date",
    "resent-message-id",
    "x-ms-exchange-inbox-rules-loop",
)


def read_headers(message: Message) -> Headers:
    """The decoded header fields of `message` (an `EmailMessage` in practice) and their problems."""
    try:
        fields = tuple(_raw_fields(message))
    except Exception as exc:  # fail safe: a header we cannot even list is a problem, not a crash
        return Headers(problems=(f"headers: cannot be read: {exc.__class__.__name__}",))
    problems: list[str] = []
    addresses = {name: _addresses_of(name, fields, problems) for name in _ADDRESS_FIELDS}
    from_problems = list(_from_count_problems(fields, addresses["from"]))
    problems.extend(from_problems)
    decoded = tuple((name, _decode_text(name, raw, problems)) for name, raw in fields)
    sender = addresses["sender"]
    author_problem = _author_problem(from_problems, problems)
    return Headers(
        from_addresses=addresses["from"],
        author=addresses["from"][0] if author_problem is None else None,
        author_problem=author_problem,
        sender=sender[0] if sender else None,
        reply_to=addresses["reply-to"],
        to=addresses["to"],
        cc=addresses["cc"],
        subject=_first(decoded, "subject") or "",
        message_id=_first(decoded, "message-id"),
        auto_submitted=_first(decoded, "auto-submitted"),
        problems=tuple(dict.fromkeys(problems)),
        forwarding_markers=_forwarding_markers(decoded),
        fields=decoded,
    )


def _raw_fields(message: Message) -> Iterator[tuple[str, str]]:
    """(lowercase name, unfolded raw value) for each field, undecoded bytes made text."""
    for name, value in message.raw_items():
        yield str(name).strip().lower(), _unfold(_raw_text(name, value))


def _raw_text(name: str, value: object) -> str:
    if isinstance(value, BaseHeader):
        folded = value.fold(policy=_DECODER)
        return folded.split(":", 1)[1] if ":" in folded else folded
    return eight_bit_text(str(value))


def _unfold(value: str) -> str:
    return _FOLD.sub("", value).replace("\r", "").replace("\n", "").strip()


def _first(fields: Iterable[tuple[str, str]], name: str) -> str | None:
    return next((value for field, value in fields if field == name), None)


def _decode_text(name: str, raw: str, problems: list[str]) -> str:
    """The decoded text of an unstructured field; raw text when decoding fails. A value
    written again (a correspondent's From, a reply's Subject) is decoded once per process."""
    if "=?" not in raw:
        return raw
    text, found = _decoded(raw) if len(raw) > KEPT_FIELD_LENGTH else _kept_decoded(raw)
    problems.extend(f"{name}: {problem}" for problem in found)
    return text


@lru_cache(maxsize=KEPT_FIELDS)
def _kept_decoded(raw: str) -> tuple[str, tuple[str, ...]]:
    return _decoded(raw)


def _decoded(raw: str) -> tuple[str, tuple[str, ...]]:
    """RFC 2047 decoded `raw` (NFC) and its problems, each without the field's name."""
    try:
        text = decode_unstructured(raw)
    except Exception:
        return raw, ("encoded words cannot be decoded",)
    problems = list(_encoded_word_problems(raw, text))
    if "\r" in text or "\n" in text or "\x00" in text:
        problems.append("encoded words decode to line breaks or NUL")
        text = re.sub(r"[\r\n\x00]+", " ", text)
    return unicodedata.normalize("NFC", text), tuple(problems)


def _encoded_word_problems(raw: str, text: str) -> Iterator[str]:
    """Encoded words in an unknown charset, or whose bytes their charset cannot decode
    (the registry's decoding put U+FFFD in their place)."""
    charsets = list(dict.fromkeys(c.lower() for c in _CHARSET.findall(raw)))
    for charset in charsets:
        try:
            codecs.lookup(charset)
        except LookupError:
            yield f"encoded word in unknown charset {charset!r}"
    if "\ufffd" in text and "\ufffd" not in raw:
        yield f"undecodable encoded word (not valid {'/'.join(charsets)})"


def _addresses_of(
    name: str, fields: tuple[tuple[str, str], ...], problems: list[str]
) -> tuple[Address, ...]:
    found: list[Address] = []
    for field, raw in fields:
        if field == name:
            addresses, field_problems = _mailboxes(name, raw)
            found.extend(addresses)
            problems.extend(field_problems)
    return tuple(found)


def _mailboxes(name: str, raw: str) -> tuple[tuple[Address, ...], tuple[str, ...]]:
    """The mailboxes of one address field and its problems; a field a correspondent
    writes again (same name, same text) is parsed once per process."""
    if len(raw) > KEPT_FIELD_LENGTH:
        return _parse_field(name, raw)
    return _kept_mailboxes(name, raw)


@lru_cache(maxsize=KEPT_FIELDS)
def _kept_mailboxes(name: str, raw: str) -> tuple[tuple[Address, ...], tuple[str, ...]]:
    return _parse_field(name, raw)


def _parse_field(name: str, raw: str) -> tuple[tuple[Address, ...], tuple[str, ...]]:
    """The mailboxes of one address field, as a mail client shows them
    (`gateway.mail.addresses.read_address_field`)."""
    problems: list[str] = []
    try:
        reading = read_address_field(join_encoded_runs(raw))
    except Exception:
        return (), (f"{name}: unparsable address list",)
    if reading.malformed:
        problems.append(f"{name}: malformed address list")
    elif reading.repaired is not None:
        addr_spec, tidy = reading.repaired
        problems.append(
            f"{name}: domain written with stray dots ({addr_spec}), read as {tidy}"
            if tidy != addr_spec else
            f"{name}: display name with special characters not quoted")
    parsed = reading.addresses
    result = []
    for std in parsed:
        address = _convert(name, std, raw, problems)
        if address is not None:
            result.append(address)
    return tuple(result), tuple(problems)


def _convert(name: str, std: StdAddress, raw: str, problems: list[str]) -> Address | None:
    mailbox = from_std(std)
    if mailbox is None or mailbox.is_null:
        problems.append(f"{name}: unparsable address {_clip(std.addr_spec)!r}")
        return None
    display = unicodedata.normalize("NFC", eight_bit_text(std.display_name))
    problems.extend(_display_problems(name, display, raw, str(mailbox)))
    if "=?" in mailbox.local:
        problems.append(f"{name}: encoded word inside an address")
    if not mailbox.valid_domain:
        problems.append(f"{name}: invalid domain {_clip(mailbox.domain)!r}")
    return Address(display, f"{quote_local(mailbox.local)}@{mailbox.domain}", mailbox.domain)


def _display_problems(name: str, display: str, raw: str, addr_spec: str) -> Iterator[str]:
    if any(unicodedata.category(char) in _FORMAT_CHARACTERS for char in display):
        yield f"{name}: display name contains control or bidirectional formatting characters"
    named = _ADDRESS_LIKE.search(display)
    if named is None:
        return
    if "=?" in raw:
        yield f"{name}: encoded display name contains an address"
    elif named is not None and named.group(0).casefold() != addr_spec.casefold():
        yield f"{name}: display name contains another address"


def _from_count_problems(
    fields: tuple[tuple[str, str], ...], from_: tuple[Address, ...]
) -> Iterator[str]:
    count = sum(1 for field, _ in fields if field == "from")
    if count == 0:
        yield "from: no From header field"
    elif count > 1:
        yield f"from: several From header fields ({count})"
    if len(from_) > 1:
        yield "from: several mailboxes"
    elif count and not from_:
        yield "from: no usable address"


def _author_problem(from_problems: list[str], problems: list[str]) -> str | None:
    """Why the message has no single From mailbox to bind a signature or a rule to."""
    if from_problems:
        return from_problems[0]
    if "from: malformed address list" in problems or "from: unparsable address list" in problems:
        return "from: malformed address list"
    return None


def _forwarding_markers(fields: tuple[tuple[str, str], ...]) -> tuple[str, ...]:
    markers = [name for name, _ in fields if name in FORWARDING_FIELDS]
    auto = _first(fields, "auto-submitted")
    if auto is not None and auto.strip().lower().startswith("auto-forwarded"):
        markers.insert(0, "auto-submitted: auto-forwarded")
    return tuple(dict.fromkeys(markers))


def _clip(text: str, limit: int = 80) -> str:
    return text if len(text) <= limit else text[:limit] + "…"
