"""A cached verdict is reused only while no date it depended on has passed (issue 14)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from gateway.signatures import cms, pdf
from gateway.signatures.checker import SignatureChecker
from gateway.signatures.context import Checking
from gateway.signatures.horizon import Interval
from gateway.signatures.model import SignatureKind, SignatureStatus
from gateway.signatures.settings import SignatureSettings
from gateway.signatures.trust import TrustMaterial, TrustSources
from tests.fixtures.pki import Pki

MINUTE = timedelta(minutes=1)


class Clock:
    """A clock the test moves (the cache's own TTL clock is the real one)."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def _checker(trust: TrustSources, clock: Clock, **settings: bool) -> SignatureChecker:
    return SignatureChecker(TrustMaterial.load(trust), trust, SignatureSettings(**settings),
                            clock)


def test_a_crl_going_stale_ends_the_cached_verdict(
    trust: TrustSources, pki: Pki, pdfs: dict[str, bytes]
) -> None:
    """The fixture CRLs' nextUpdate is 7 days after the PKI was made."""
    next_update = pki.now + timedelta(days=7)
    clock = Clock(next_update - 2 * MINUTE)
    checker = _checker(trust, clock)
    assert checker.check_pdf(pdfs["valid"]).status == SignatureStatus.VALID
    clock.now = next_update - MINUTE
    assert checker.check_pdf(pdfs["valid"]).status == SignatureStatus.VALID
    assert checker.cache.hits == 1
    clock.now = next_update + MINUTE
    stale = checker.check_pdf(pdfs["valid"])
    assert stale.status == _checker(trust, clock).check_pdf(pdfs["valid"]).status
    assert stale.status == SignatureStatus.UNKNOWN and "CRL" in str(stale)


def test_the_signer_certificate_expiring_ends_the_cached_verdict(
    trust: TrustSources, pki: Pki, pdfs: dict[str, bytes]
) -> None:
    """A date only the signature carries (its signer's notAfter, a year after the PKI)."""
    not_after = pki.organisation.cert.not_valid_after_utc
    clock = Clock(not_after - MINUTE)
    checker = _checker(trust, clock, accept_stale_crl=True)
    assert checker.check_pdf(pdfs["organisation"]).status == SignatureStatus.VALID
    clock.now = not_after + MINUTE
    assert checker.check_pdf(pdfs["organisation"]).status == SignatureStatus.EXPIRED
    assert checker.cache.hits == 0


def test_a_clock_set_back_over_a_date_computes_again(
    trust: TrustSources, pki: Pki, pdfs: dict[str, bytes]
) -> None:
    """Before the signer's notBefore (30 days before the PKI) the verdict is another."""
    not_before = pki.organisation.cert.not_valid_before_utc
    clock = Clock(pki.now)
    checker = _checker(trust, clock, accept_stale_crl=True)
    assert checker.check_pdf(pdfs["organisation"]).status == SignatureStatus.VALID
    clock.now = not_before - MINUTE
    assert checker.check_pdf(pdfs["organisation"]).status != SignatureStatus.VALID
    assert checker.cache.hits == 0


def test_an_interval_holds_strictly_between_its_dates() -> None:
    now = datetime(2026, 1, 1, tzinfo=UTC)
    dates = [now - MINUTE, now + MINUTE, now + 2 * MINUTE, now - 2 * MINUTE]
    interval = Interval.around(now, dates)
    assert interval == Interval(now - MINUTE, now + MINUTE)
    assert interval.holds(now) and interval.holds(now + MINUTE / 2)
    assert not interval.holds(now + MINUTE) and not interval.holds(now - MINUTE)
    assert Interval.around(now, []).holds(now + timedelta(days=3650))
    unreadable = Interval.around(now, [*dates, None])
    assert not unreadable.holds(now)


def test_a_check_notes_the_dates_of_the_signature_and_its_timestamp(
    trust: TrustSources, pki: Pki, pdfs: dict[str, bytes], detached: dict[str, tuple[bytes, bytes]]
) -> None:
    checking = Checking.of(TrustMaterial.load(trust), trust, SignatureSettings()).at(pki.now)
    asyncio.run(pdf.check_pdf(pdfs["timestamped"], checking))
    for cert in (pki.person.cert, pki.tsa.cert):
        assert {cert.not_valid_before_utc, cert.not_valid_after_utc} <= set(checking.dates)
    content, signature = detached["valid"]
    cms_checking = checking.at(pki.now)
    asyncio.run(cms.validate_cms(cms.signed_data_of(signature), content,
                                 SignatureKind.DETACHED_CMS, cms_checking))
    assert pki.person.cert.not_valid_after_utc in cms_checking.dates
    assert None not in checking.dates + cms_checking.dates
