"""DKIM (RFC 6376, RFC 8463) and ARC (RFC 8617) verification with dkimpy, keys from DnsClient."""

from __future__ import annotations

from collections.abc import Callable

import dkim
import dkim.util

from gateway.auth.dns import DnsClient, DnsTempError
from gateway.auth.results import ArcResult, DkimResult, Result

#: Signatures verified per message at most (each costs a DNS lookup and a hash of the body).
MAX_SIGNATURES = 8
#: What dkimpy raises on a malformed message or field besides its own exceptions (a first
#: header line that starts with white space: IndexError in its header parser).
_MALFORMED = (ValueError, TypeError, IndexError, KeyError, UnicodeError)


class KeyLookupFailed(Exception):
    """A key lookup ended in a DNS failure: the signature is `temperror`, not `fail`.

    Deliberately not a dkim.DKIMException, which dkimpy would turn into `fail`."""


class _Keys:
    """The dnsfunc dkimpy calls: TXT lookups through the gateway's DNS client, remembering
    whether the key record was absent (`permerror`, RFC 6376 6.1.2)."""

    def __init__(self, dns: DnsClient) -> None:
        self.dns = dns
        self.missing = False

    def __call__(self, name: bytes | str, timeout: float = 5) -> bytes | None:
        text = name.decode("ascii", "replace") if isinstance(name, bytes) else name
        try:
            lookup = self.dns.lookup(text, "TXT")
        except DnsTempError as exc:
            raise KeyLookupFailed(str(exc)) from exc
        if not lookup.records:
            self.missing = True
            return None
        return lookup.records[0]


def _tags(value: bytes) -> dict[bytes, bytes]:
    try:
        return dict(dkim.util.parse_tag_value(value))
    except Exception:  # a field dkimpy cannot even split: reported as permerror below
        return {}


def verify_dkim(message: bytes, dns: DnsClient) -> tuple[DkimResult, ...]:
    """Every DKIM-Signature of `message` (up to MAX_SIGNATURES), each with its result."""
    try:
        verifier = dkim.DKIM(message, minkey=1024)
    except dkim.DKIMException as exc:
        return (DkimResult(Result.PERMERROR, reason=f"message not parsable: {exc}"),)
    except _MALFORMED as exc:
        return (DkimResult(Result.PERMERROR,
                           reason=f"message not parsable ({type(exc).__name__})"),)
    fields = [value for name, value in verifier.headers if name.lower() == b"dkim-signature"]
    results = []
    for index, value in enumerate(fields[:MAX_SIGNATURES]):
        tags = _tags(value)
        domain = tags.get(b"d", b"").decode("ascii", "replace").strip().lower()
        selector = tags.get(b"s", b"").decode("ascii", "replace").strip()
        algorithm = tags.get(b"a", b"").decode("ascii", "replace").strip()
        keys = _Keys(dns)
        result, reason = _verify_one(verifier, index, keys)
        results.append(DkimResult(result, domain, selector, algorithm, reason))
    return tuple(results)


def _verify_one(verifier: dkim.DKIM, index: int, keys: _Keys) -> tuple[Result, str]:
    try:
        good = verifier.verify(index, dnsfunc=keys)
    except KeyLookupFailed as exc:
        return Result.TEMPERROR, f"key lookup failed: {exc}"
    except dkim.ValidationError as exc:
        text = str(exc)
        if "body hash mismatch" in text:
            return Result.FAIL, "body hash mismatch (body changed)"
        return Result.PERMERROR, text
    except dkim.DKIMException as exc:
        return Result.PERMERROR, f"{type(exc).__name__}: {exc}"
    except _MALFORMED as exc:
        # dkimpy tripping over a malformed field: that signature cannot be verified
        return Result.PERMERROR, f"malformed signature ({type(exc).__name__})"
    if good:
        return Result.PASS, ""
    if keys.missing:
        return Result.PERMERROR, "no key published for the selector"
    return Result.FAIL, "signature does not verify"


def verify_arc(message: bytes, dns: DnsClient) -> ArcResult:
    """The ARC chain of `message`: none when there is no ARC set."""
    if b"arc-seal" not in message.split(b"\r\n\r\n", 1)[0].lower():
        return ArcResult(Result.NONE)
    dnsfunc: Callable[..., bytes | None] = _Keys(dns)
    try:
        outcome, sets, reason = dkim.arc_verify(message, dnsfunc=dnsfunc)
    except KeyLookupFailed as exc:
        return ArcResult(Result.TEMPERROR, reason=f"key lookup failed: {exc}")
    except (dkim.DKIMException, *_MALFORMED) as exc:  # a chain that cannot be read fails
        return ArcResult(Result.FAIL, reason=f"message not parsable ({type(exc).__name__})")
    word = outcome.decode("ascii", "replace") if isinstance(outcome, bytes) else str(outcome)
    result = {"pass": Result.PASS, "fail": Result.FAIL}.get(word, Result.NONE)
    return ArcResult(result, len(sets), str(reason or ""))
