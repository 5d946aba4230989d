"""The authentication stage: verify mail from outside, sign mail from inside.

`Authenticator.verify` gives the `Authentication` value the policy decides
on (SPF, DKIM, DMARC, ARC), within a time limit: a stage that runs out of
time reports `temperror` everywhere, never a pass. `finishing` gives the
last step of the relay path: drop Authentication-Results fields that claim
the gateway's authserv-id, then DKIM-sign over everything, the gateway's
own header fields included.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass, replace
from email import policy
from email.parser import HeaderParser
from typing import TYPE_CHECKING

from publicsuffixlist import PublicSuffixList

from gateway.auth.dmarc import DmarcChecker, strictest
from gateway.auth.dns import DnsClient, ascii_domain
from gateway.auth.results import (
    ArcResult,
    Authentication,
    DkimResult,
    DmarcResult,
    Result,
    SpfResult,
    header_value,
)
from gateway.auth.signing import DkimSigner
from gateway.auth.spf import SpfChecker
from gateway.auth.verify import verify_arc, verify_dkim
from gateway.mail.addresses import read_address_field
from gateway.mail.envelope import Direction, Envelope
from gateway.mail.spool import Spool, stuff, unstuff
from gateway.record import metrics

if TYPE_CHECKING:
    from gateway.policy.verdict import Verdict

log = logging.getLogger("gateway.auth")

RESULTS_FIELD = "Authentication-Results"
_FIELD = re.compile(rb"^([!-9;-~]+)[ \t]*:", re.M)
_COMMENT = re.compile(r"\((?:[^()\\]|\\.)*\)")
_QUOTED_PAIR = re.compile(r"\\(.)")
_UNFOLD = re.compile(r"\r?\n(?=[ \t])")


def header_block(message: bytes) -> bytes:
    end = message.find(b"\r\n\r\n")
    return message if end < 0 else message[: end + 2]


def spooled_head(spool: Spool) -> bytes:
    """The header block of a spooled message, reading only as far as its end."""
    data = b""
    for chunk in spool.chunks():
        data += bytes(chunk)
        if b"\r\n\r\n" in data:
            break
    return header_block(unstuff(data))


def from_domains(message: bytes) -> tuple[tuple[str, ...], ...] | None:
    """The domains of each From field's mailboxes, lower case, read as mail clients show
    them and as the analysis reads them (`read_address_field`: `eve@x <manager@x>` is
    manager@x); None when a From cannot be read or one of its mailboxes has no domain."""
    try:
        head = header_block(message).decode("utf-8", "replace")
        values = HeaderParser(policy=policy.compat32).parsestr(head).get_all("From") or []
        fields = [read_address_field(_UNFOLD.sub("", str(value)).strip()).addresses
                  for value in values]
    except Exception:  # a From that cannot be read has no usable domain
        return None
    if not all(address.domain for addresses in fields for address in addresses):
        return None
    return tuple(tuple(ascii_domain(str(address.domain)) for address in addresses)
                 for addresses in fields)


def single_domain(domains: tuple[tuple[str, ...], ...] | None) -> str:
    """The domain of the single From mailbox; "" when there is not exactly one."""
    return domains[0][0] if domains and len(domains) == 1 and len(domains[0]) == 1 else ""


def from_domain(message: bytes) -> str:
    """The domain of the single From mailbox, lower case; "" when there is not exactly one."""
    return single_domain(from_domains(message))


def release_signature(signer: DkimSigner, direction: Direction | None, message: bytes) -> bytes:
    """The DKIM-Signature fields of a held message released to the upstream (`message`: the
    fields the release adds, then the held copy): mail from inside leaves signed as on the
    relay path; mail from outside, or of a hold that recorded no direction, is not signed."""
    if direction is None or direction is Direction.INBOUND:
        return b""
    domain = from_domain(message)
    return signer.sign(message, domain) if domain else b""


def _fields(head: bytes) -> list[tuple[bytes, int, int]]:
    """(name, start, end) of each header field in a header block, continuation lines included."""
    starts = [m for m in _FIELD.finditer(head) if m.start() == 0 or head[m.start() - 1] == 10]
    spans = []
    for index, match in enumerate(starts):
        end = starts[index + 1].start() if index + 1 < len(starts) else len(head)
        spans.append((match.group(1).lower(), match.start(), end))
    return spans


def claims(value: bytes, authserv_id: str) -> bool:
    """True when an Authentication-Results value names `authserv_id`: its first word, with
    comments (nested ones too) left out and a quoted-string unquoted (RFC 8601 2.2)."""
    text = value.decode("utf-8", "replace")
    while True:
        without = _COMMENT.sub(" ", text)  # innermost comments first
        if without == text:
            break
        text = without
    first = text.split(";", 1)[0].split()
    if not first:
        return False
    word = first[0]
    if word.startswith('"'):
        word = _QUOTED_PAIR.sub(r"\1", word.strip('"'))
    return word.lower() == authserv_id.lower()


def strip_results(message: bytes, authserv_id: str) -> bytes:
    """`message` without the Authentication-Results fields that claim our authserv-id
    (RFC 8601 5): only the gateway may speak in its name."""
    head = header_block(message)
    kept, removed = [], False
    for name, start, end in _fields(head):
        if name == b"authentication-results":
            value = head[start:end].split(b":", 1)[1]
            if claims(value, authserv_id):
                removed = True
                continue
        kept.append(head[start:end])
    if not removed:
        return message
    return b"".join(kept) + message[len(head):]


@dataclass(frozen=True, slots=True)
class Finishing:
    """The last step before the message leaves (see module docstring)."""

    authserv_id: str | None
    signer: DkimSigner | None
    domain: str

    def __call__(self, header: bytes, spool: Spool) -> tuple[bytes, Spool]:
        """Only a message that needs a change (rare) or a signature is read whole."""
        if self.authserv_id is not None:
            head = spooled_head(spool)
            if strip_results(head, self.authserv_id) is not head:
                wire = stuff(strip_results(unstuff(spool.getvalue()), self.authserv_id))
                spool = Spool(threshold=len(wire) + 1)
                spool.write(wire)
        if self.signer is not None:
            message = unstuff(spool.getvalue())
            header = self.signer.sign(header + message, self.domain) + header
        return header, spool


def _unknown(domain: str, why: str) -> Authentication:
    """Every method `temperror`: the stage could not finish (fail closed)."""
    return Authentication(
        domain, SpfResult(Result.TEMPERROR, reason=why),
        (DkimResult(Result.TEMPERROR, reason=why),),
        DmarcResult(Result.TEMPERROR, domain, reason=why),
        ArcResult(Result.TEMPERROR, reason=why),
    )


class Authenticator:
    """Owns the DNS client (and its cache) of one process, the keys and the authserv-id."""

    def __init__(self, dns: DnsClient, signer: DkimSigner | None, authserv_id: str,
                 *, verify: bool = True, time_limit: float = 30.0,
                 suffixes: PublicSuffixList | None = None) -> None:
        self.dns = dns
        self.signer = signer
        self.authserv_id = authserv_id
        self.verifying = verify
        self.time_limit = time_limit
        self.spf = SpfChecker(dns)
        self.dmarc = DmarcChecker(dns, suffixes or PublicSuffixList())

    def authenticate(self, message: bytes, envelope: Envelope) -> Authentication:
        """SPF, DKIM, DMARC and ARC of `message` as received (blocking: DNS lookups)."""
        domains = from_domains(message)
        domain = single_domain(domains)
        spf = self.spf.check(envelope.client_ip, envelope.mail_from, envelope.helo)
        dkim = verify_dkim(message, self.dns)
        if domain:  # relaxed alignment with the From domain, for the policy's `aligned: true`
            spf = replace(spf, aligned=spf.scope == "mailfrom"
                          and self.dmarc.aligned(spf.domain, domain, "r"))
            dkim = tuple(replace(item, aligned=self.dmarc.aligned(item.domain, domain, "r"))
                         for item in dkim)
        if domain:
            dmarc = self.dmarc.check(domain, spf, dkim)
        else:  # From repeated, or naming several mailboxes: each domain's policy counts
            several = dict.fromkeys(each for field in domains or () for each in field)
            dmarc = strictest([self.dmarc.check(each, spf, dkim) for each in several]) \
                if several else self.dmarc.check("", spf, dkim)
        arc = verify_arc(message, self.dns)
        return Authentication(domain, spf, dkim, dmarc, arc)

    async def verify(self, envelope: Envelope, direction: Direction,
                     spool: Spool) -> Authentication | None:
        """The authentication of mail from outside; None for mail from inside or when
        verification is switched off."""
        if direction is not Direction.INBOUND or not self.verifying:
            return None
        message = unstuff(spool.getvalue())
        try:
            async with asyncio.timeout(self.time_limit):
                found = await asyncio.to_thread(self.authenticate, message, envelope)
        except TimeoutError:
            log.warning("sender authentication ran out of time (%.0f s)", self.time_limit)
            found = _unknown(from_domain(message), "authentication ran out of time")
        except Exception:  # a checker's bug: temperror everywhere, never a pass (fail closed)
            log.exception("sender authentication failed; every result temperror")
            metrics.DECISION_FAILURES.inc()
            found = _unknown(from_domain(message), "authentication failed")
        count(found)
        return found

    def finishing(self, direction: Direction, spool: Spool) -> Finishing | None:
        """What to do to the message last: drop results fields that claim the gateway's
        name, whatever the direction (RFC 8601 5: inside is no more entitled to speak
        in its name); then sign mail from inside whose From domain has a key."""
        if direction is Direction.INBOUND or self.signer is None:
            return Finishing(self.authserv_id, None, "")
        domain = from_domain(spooled_head(spool))
        if not domain or not self.signer.keys_for(domain):
            return Finishing(self.authserv_id, None, "")
        return Finishing(self.authserv_id, self.signer, domain)

    def with_results(self, verdict: Verdict, auth: Authentication | None,
                     envelope: Envelope) -> Verdict:
        """The verdict with the Authentication-Results field on top of its header fields."""
        if auth is None:
            return verdict
        value = header_value(self.authserv_id, auth, envelope.mail_from)
        return replace(verdict, headers=((RESULTS_FIELD, value), *verdict.headers))


def count(auth: Authentication) -> None:
    """tth_auth_results_total{method,result}: one per method (and per DKIM signature)."""
    results: Iterable[tuple[str, Result]] = [
        ("spf", auth.spf.result),
        *(("dkim", item.result) for item in auth.dkim),
        *([] if auth.dkim else [("dkim", Result.NONE)]),
        ("dmarc", auth.dmarc.result),
        ("arc", auth.arc.result),
    ]
    for method, result in results:
        metrics.AUTH_RESULTS.labels(method, result.value).inc()
