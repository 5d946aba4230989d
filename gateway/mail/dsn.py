"""RFC 3461 delivery status notification parameters (RET, ENVID at MAIL; NOTIFY, ORCPT at
RCPT): checked as the client sent them, and passed on with their values unchanged.

aiosmtpd upper-cases every MAIL and RCPT parameter; ENVID and ORCPT are the sender's own
identifiers (an envelope id, the original recipient), so their values are taken from the
command as it was sent.
"""

from __future__ import annotations

import re

from gateway.mail.replies import Reply, reply

MAIL_KEYWORDS = ("RET", "ENVID")
RCPT_KEYWORDS = ("NOTIFY", "ORCPT")
KEYWORDS = MAIL_KEYWORDS + RCPT_KEYWORDS
#: xchar (33-126 but "+" and "="), or "+" and two hex digits.
_XTEXT = r"(?:[!-*,-<>-~]|\+[0-9A-Fa-f]{2})*"
_VALID = {
    "RET": re.compile(r"FULL|HDRS", re.IGNORECASE),
    "ENVID": re.compile(_XTEXT),
    "NOTIFY": re.compile(r"NEVER|(?:SUCCESS|FAILURE|DELAY)(?:,(?:SUCCESS|FAILURE|DELAY))*",
                         re.IGNORECASE),
    "ORCPT": re.compile(rf"[A-Za-z0-9!#$%&'*+/=?^_`{{|}}~-]+;{_XTEXT}"),
}
#: The longest values RFC 3461 allows (4.4 ENVID, 4.2 ORCPT).
_LONGEST = {"ENVID": 100, "ORCPT": 500}


def as_sent(options: list[str], sent: list[str], keywords: tuple[str, ...]) -> list[str] | Reply:
    """`options` (aiosmtpd's, upper-cased) with each DSN parameter as in `sent` (the same
    parameters as the client wrote them), or the refusal of a DSN parameter that this
    command does not take (`keywords`), is given twice, or is malformed."""
    if [option.upper() for option in sent] != options:
        sent = options  # not the parameters of this command: the upper-cased ones are checked
    result: list[str] = []
    seen: set[str] = set()
    for option in sent:
        name, _, value = option.partition("=")
        name = name.upper()
        if name not in KEYWORDS:
            result.append(option.upper())
            continue
        if name not in keywords:
            return reply(555, "5.5.4", f"{name} is not a parameter of this command")
        if name in seen or not _VALID[name].fullmatch(value) or \
                len(value) > _LONGEST.get(name, len(value)):
            return reply(501, "5.5.4", f"Bad {name} parameter syntax")
        seen.add(name)
        result.append(f"{name}={value}")
    return result
