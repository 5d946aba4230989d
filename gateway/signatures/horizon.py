"""How long a signature verdict stays true: until the clock crosses a date it depended on.

A verdict is a function of the signed bytes, the trust material, the settings and the
time it was computed at. Time enters only through dates compared with it: certificates'
notBefore/notAfter (trust anchors, intermediates, and every certificate a signature or
its timestamp tokens carry), CRLs' thisUpdate/nextUpdate and revocation dates, and the
timestamp or claimed signing time (used only once it is not in the future). Between two
consecutive such dates the verdict cannot change, so a cached one is reused only while
the clock stays inside the interval it was computed in. Every date is read from what
asn1crypto and pyHanko parsed; nothing is parsed here.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

from asn1crypto import cms, crl, tsp, x509
from pyhanko.sign.validation.generic_cms import extract_self_reported_ts, extract_tst_data_iter

from gateway.signatures.trust import TrustMaterial


@dataclass(frozen=True, slots=True)
class Interval:
    """The stretch of time around a check in which no date it depended on lies."""

    after: datetime | None  # the last such date at or before the check
    before: datetime | None  # the first such date after the check

    @classmethod
    def around(cls, now: datetime, dates: Iterable[datetime | None]) -> Interval:
        """The interval of `now` between `dates`; a None (a date that could not be read)
        gives an interval that holds at no moment: the verdict is not reused."""
        known = list(dates)
        if any(date is None for date in known):
            return cls(datetime.max.replace(tzinfo=UTC), datetime.min.replace(tzinfo=UTC))
        past = [date for date in known if date is not None and date <= now]
        future = [date for date in known if date is not None and date > now]
        return cls(max(past, default=None), min(future, default=None))

    def holds(self, moment: datetime) -> bool:
        """Whether a verdict computed inside this interval is still the one at `moment`."""
        return (self.after is None or self.after < moment) and (
            self.before is None or moment < self.before
        )


def _aware(value: object) -> Iterator[datetime]:
    if isinstance(value, datetime):
        yield value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def certificate_dates(cert: x509.Certificate) -> Iterator[datetime]:
    validity = cert["tbs_certificate"]["validity"]
    yield from _aware(validity["not_before"].native)
    yield from _aware(validity["not_after"].native)


def crl_dates(certificate_list: crl.CertificateList) -> Iterator[datetime]:
    tbs = certificate_list["tbs_cert_list"]
    yield from _aware(tbs["this_update"].native)
    yield from _aware(tbs["next_update"].native)
    for revoked in tbs["revoked_certificates"]:
        yield from _aware(revoked["revocation_date"].native)


def material_dates(material: TrustMaterial) -> tuple[datetime, ...]:
    """Every date of the trust anchors, intermediates and CRLs."""
    dates: list[datetime] = []
    for named in (*material.anchors, *material.intermediates):
        dates.extend(certificate_dates(named.load()))
    for named_crl in material.crls:
        dates.extend(crl_dates(named_crl.load()))
    return tuple(dates)


def signature_dates(
    signed_data: cms.SignedData, *claimed: datetime | None
) -> list[datetime | None]:
    """The dates of one signature (with `claimed`, times its container reports, such as a
    PDF's /M), or [None] when they cannot all be read."""
    try:
        return [*signed_data_dates(signed_data), *(d for c in claimed for d in _aware(c))]
    except Exception:  # unreadable here means unknown dates: the verdict is not reused
        return [None]


def signed_data_dates(signed_data: cms.SignedData) -> Iterator[datetime]:
    """The dates of every certificate a CMS signature carries, its signers' claimed times,
    and the same for its timestamp tokens (and a token's own genTime)."""
    for choice in signed_data["certificates"] or ():
        if choice.name == "certificate":
            yield from certificate_dates(choice.chosen)
    encapsulated = signed_data["encap_content_info"]
    if encapsulated["content_type"].native == "tst_info":
        tst_info = encapsulated["content"].parsed
        if isinstance(tst_info, tsp.TSTInfo):
            yield from _aware(tst_info["gen_time"].native)
    for signer_info in signed_data["signer_infos"]:
        yield from _aware(extract_self_reported_ts(signer_info))
        for token in extract_tst_data_iter(signer_info, signed=False):
            yield from signed_data_dates(token)
