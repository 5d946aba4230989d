"""Every SMTP reply the gateway makes goes through `reply()` (Postfix's smtpd_check_reject).

It checks that the enhanced status code agrees with the reply code, turns a
mistake (from code or from a policy file) into a temporary 451 so that no mail
is refused for a configuration error, folds text to ASCII when the client did
not ask for SMTPUTF8, and logs every refusal.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from dataclasses import dataclass

from gateway.mail.literals import without_controls

log = logging.getLogger("gateway.mail.replies")

_ENHANCED = re.compile(r"^[245]\.\d{1,3}\.\d{1,3}$")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]+")
#: The longest reply line on the wire without its CRLF (RFC 5321 4.5.3.1.5: 512 octets).
MAX_REPLY_LINE = 510

#: Default enhanced codes for replies built by aiosmtpd itself, by reply code.
DEFAULT_ENHANCED = {
    221: "2.0.0",
    250: "2.0.0",
    251: "2.1.5",
    252: "2.5.0",
    421: "4.3.0",
    450: "4.2.0",
    451: "4.3.0",
    452: "4.3.1",
    454: "4.7.0",
    500: "5.5.2",
    501: "5.5.4",
    502: "5.5.1",
    503: "5.5.1",
    504: "5.5.4",
    530: "5.7.0",
    535: "5.7.8",
    538: "5.7.11",
    550: "5.7.1",
    551: "5.1.6",
    552: "5.3.4",
    553: "5.1.3",
    554: "5.5.0",
    555: "5.5.4",
}

CONFIG_ERROR = (451, "4.3.5", "Server configuration error; try again later")
UPSTREAM_DOWN = (451, "4.4.1", "Upstream mail system unavailable, try again later")
UPSTREAM_FAILED = (451, "4.4.2", "Upstream mail system failed, try again later")
DECIDER_FAILED = (451, "4.3.0", "Temporary policy failure, try again later")
INTERNAL_ERROR = (451, "4.3.0", "Temporary local problem, try again later")
SPOOL_FAILED = (421, "4.3.0", "Message could not be stored, try again later; closing")


@dataclass(frozen=True, slots=True)
class Reply:
    """A reply to the SMTP client: code, enhanced status code and text lines."""

    code: int
    enhanced: str | None
    lines: tuple[str, ...]

    @property
    def is_success(self) -> bool:
        return 200 <= self.code < 400

    @property
    def is_temporary(self) -> bool:
        return 400 <= self.code < 500

    def render(self) -> str:
        """The wire form, multi-line replies joined with CRLF (no trailing CRLF)."""
        prefix = f"{self.enhanced} " if self.enhanced else ""
        lines = self.lines or ("",)
        last = len(lines) - 1
        return "\r\n".join(
            f"{self.code}{' ' if i == last else '-'}{prefix}{text}".rstrip()
            for i, text in enumerate(lines)
        )

    def one_line(self) -> str:
        """The wire form on one line (lines joined with " | "), for logs and the audit."""
        return self.render().replace("\r\n", " | ")

    def __str__(self) -> str:
        return self.render()


def fold_to_ascii(text: str) -> str:
    """Vietnamese without diacritics ("Thư công vụ" → "Thu cong vu"), for non-SMTPUTF8 clients."""
    text = text.replace("Đ", "D").replace("đ", "d")
    decomposed = unicodedata.normalize("NFD", text)
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return stripped.encode("ascii", "replace").decode("ascii")


def _clean(text: str, utf8: bool) -> str:
    text = _CONTROL.sub(" ", text).strip()
    return text if utf8 else fold_to_ascii(text)


def reply(
    code: int,
    enhanced: str | None,
    *texts: str,
    utf8: bool = False,
    reason: str = "",
) -> Reply:
    """Build a checked reply; a code that does not make sense becomes 451 4.3.5."""
    lines = tuple(_clean(text, utf8) for text in texts for text in text.splitlines() or [""])
    if not 200 <= code <= 599:
        log.error("configuration error: reply code %r is not 2xx-5xx (%s)", code, reason)
        return Reply(*CONFIG_ERROR[:2], (CONFIG_ERROR[2],))
    if enhanced is not None and (
        not _ENHANCED.match(enhanced) or enhanced[0] != str(code)[0]
    ):
        log.error(
            "configuration error: enhanced status %r does not fit reply code %d (%s)",
            enhanced,
            code,
            reason,
        )
        return Reply(*CONFIG_ERROR[:2], (CONFIG_ERROR[2],))
    result = Reply(code, enhanced, lines or ("",))
    if code >= 400:
        log.info("refusal %s (%s)", result.one_line(), reason or "-")
    return result


def on_the_wire(text: str, *, utf8: bool) -> bytes:
    """Reply text as it is sent: lines split at CRLF only; any other control character (a
    client's command that aiosmtpd echoes may hold CR, NUL, ESC) shown as "?"; each line
    cut to MAX_REPLY_LINE octets; ASCII unless `utf8`, bytes that were not UTF-8 "?"."""
    charset = "utf-8" if utf8 else "ascii"
    lines = []
    for line in text.split("\r\n"):
        data = without_controls(line).encode(charset, "replace")
        if len(data) > MAX_REPLY_LINE:
            data = data[:MAX_REPLY_LINE].decode("utf-8", "ignore").encode("utf-8")
        lines.append(data)
    return b"\r\n".join(lines)


_LEADING_ENHANCED = re.compile(r"^[245]\.\d{1,3}\.\d{1,3}\b ?")


def from_upstream(code: int, message: str, *, utf8: bool = False) -> Reply:
    """Pass the upstream's reply on, keeping its enhanced code and text."""
    texts = message.splitlines() or [""]
    match = _LEADING_ENHANCED.match(texts[0])
    enhanced = match.group(0).strip() if match else DEFAULT_ENHANCED.get(code)
    stripped = [_LEADING_ENHANCED.sub("", line) for line in texts]
    if enhanced is not None and enhanced[0] != str(code)[0]:
        enhanced = DEFAULT_ENHANCED.get(code)
    return reply(code, enhanced, *stripped, utf8=utf8, reason="upstream")


def with_enhanced(raw: str) -> str:
    """Add an enhanced status code to a bare one-line reply built by aiosmtpd."""
    if len(raw) < 4 or not raw[:3].isdigit() or raw[3] not in " -":
        return raw
    code = int(raw[:3])
    rest = raw[4:]
    if raw[3] == "-" or _LEADING_ENHANCED.match(rest) or code in (220, 354):
        return raw
    enhanced = DEFAULT_ENHANCED.get(code)
    return f"{code} {enhanced} {rest}" if enhanced else raw


def refusal(
    code: int | None,
    enhanced: str | None,
    texts: tuple[str, ...],
    *,
    temporary: bool,
    utf8: bool,
    reason: str,
) -> Reply:
    """A policy refusal; the code must be 4xx for a tempfail and 5xx for a reject."""
    default = (451, "4.7.1") if temporary else (550, "5.7.1")
    code = code or default[0]
    if (400 <= code < 500) != temporary or not 400 <= code < 600:
        log.error("configuration error: reply code %s does not fit the action (%s)", code, reason)
        return Reply(*CONFIG_ERROR[:2], (CONFIG_ERROR[2],))
    lines = tuple(text for text in texts if text) or (
        ("Policy refused this step, try again later",)
        if temporary
        else ("Message refused by policy",)
    )
    return reply(code, enhanced or default[1], *lines, utf8=utf8, reason=reason)


def held_reply(reference: str, rule_name: str | None, *, utf8: bool) -> Reply:
    """The 250 for a quarantined message: accepted, held, and where to ask about it."""
    because = f" by rule {rule_name}" if rule_name is not None else ""
    return reply(
        250,
        "2.6.0",
        f"Thư bị giữ lại để kiểm tra, mã tham chiếu {reference}",
        f"Message held for review{because}, reference {reference}",
        utf8=utf8,
        reason="quarantined",
    )
