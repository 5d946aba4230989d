"""What one validation needs (trust, settings, now) and fresh pyHanko contexts from it."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from asn1crypto import cms, crl, x509
from pyhanko.sign.validation.settings import KeyUsageConstraints
from pyhanko_certvalidator import ValidationContext
from pyhanko_certvalidator.fetchers.aiohttp_fetchers import AIOHttpFetcherBackend
from pyhanko_certvalidator.policy_decl import (
    DEFAULT_WEAK_HASH_ALGOS,
    CertRevTrustPolicy,
    DisallowWeakAlgorithmsPolicy,
    FreshnessReqType,
    RevocationCheckingPolicy,
    RevocationCheckingRule,
)

from gateway.signatures.horizon import signature_dates
from gateway.signatures.settings import SignatureSettings
from gateway.signatures.trust import TrustMaterial, TrustSources

_RULES = {
    "if_declared": RevocationCheckingRule.CHECK_IF_DECLARED,
    "require": RevocationCheckingRule.CRL_OR_OCSP_REQUIRED,
    "soft": RevocationCheckingRule.CHECK_IF_DECLARED_SOFT,
}
_STALE_CRL_TOLERANCE = timedelta(days=36500)


def revocation_policy(settings: SignatureSettings, *, retroactive: bool) -> CertRevTrustPolicy:
    """The revocation policy; `accept_stale_crl` lifts the nextUpdate limit."""
    rule = _RULES[settings.revocation]
    checking = RevocationCheckingPolicy(ee_certificate_rule=rule, intermediate_ca_cert_rule=rule)
    if settings.accept_stale_crl:
        return CertRevTrustPolicy(
            checking,
            freshness=_STALE_CRL_TOLERANCE,
            freshness_req_type=FreshnessReqType.MAX_DIFF_REVOCATION_VALIDATION,
            retroactive_revinfo=retroactive,
        )
    return CertRevTrustPolicy(checking, retroactive_revinfo=retroactive)


def weak_hash_algorithms(settings: SignatureSettings) -> frozenset[str]:
    """pyHanko's weak digests, minus SHA-1 when the policy accepts it."""
    weak = frozenset(DEFAULT_WEAK_HASH_ALGOS)
    return weak - {"sha1"} if settings.allow_sha1 else weak


def key_usage_constraints(settings: SignatureSettings) -> KeyUsageConstraints:
    return KeyUsageConstraints(
        key_usage=set(settings.key_usage), match_all_key_usages=settings.key_usage_match_all
    )


@dataclass(frozen=True)
class Checking:
    """Trust material (parsed once), its sources, the settings and the current time; `dates`
    collects the dates of the signatures one check read."""

    material: TrustMaterial
    sources: TrustSources
    settings: SignatureSettings
    now: datetime
    roots: tuple[x509.Certificate, ...] = field(default=(), repr=False)
    others: tuple[x509.Certificate, ...] = field(default=(), repr=False)
    crls: tuple[crl.CertificateList, ...] = field(default=(), repr=False)
    fetchers: list[AIOHttpFetcherBackend] = field(default_factory=list, repr=False)
    dates: list[datetime | None] = field(default_factory=list, repr=False)

    @classmethod
    def of(
        cls, material: TrustMaterial, sources: TrustSources, settings: SignatureSettings
    ) -> Checking:
        """Parse the material once; `at` gives the copy used for one check."""
        return cls(
            material,
            sources,
            settings,
            datetime.min,
            tuple(cert.load() for cert in material.anchors),
            tuple(cert.load() for cert in material.intermediates),
            tuple(named.load() for named in material.crls),
        )

    def at(self, now: datetime) -> Checking:
        return Checking(
            self.material, self.sources, self.settings, now, self.roots, self.others, self.crls
        )

    def context(self, moment: datetime, *, past: bool) -> ValidationContext:
        """A new context checking chains at `moment` (`past`: a proven or claimed signing time)."""
        backend = None
        if self.sources.allow_fetching:
            backend = AIOHttpFetcherBackend(per_request_timeout=self.sources.fetch_timeout)
            self.fetchers.append(backend)
        algorithms = DisallowWeakAlgorithmsPolicy(  # type: ignore[no-untyped-call]
            weak_hash_algos=weak_hash_algorithms(self.settings)
        )
        return ValidationContext(
            trust_roots=list(self.roots),
            other_certs=list(self.others),
            crls=list(self.crls),
            moment=moment,
            best_signature_time=moment,
            allow_fetching=self.sources.allow_fetching,
            fetcher_backend=backend,
            revinfo_policy=revocation_policy(self.settings, retroactive=past),
            algorithm_usage_policy=algorithms,
        )

    def depends_on(self, signed_data: cms.SignedData, *claimed: datetime | None) -> None:
        """Note the dates of a signature this check reads (see `horizon`)."""
        self.dates.extend(signature_dates(signed_data, *claimed))

    async def close(self) -> None:
        """Close the HTTP sessions that online fetching opened during this check."""
        while self.fetchers:
            await self.fetchers.pop().close()  # type: ignore[no-untyped-call]

    @property
    def key_usage(self) -> KeyUsageConstraints:
        """What pyHanko checks while validating: no key usage (an empty set, which it reads
        as "any"), because it would refuse a certificate without a KeyUsage extension;
        the policy's key usage is enforced after, by `outcome.key_usage_problem`."""
        return KeyUsageConstraints(key_usage=set())
