"""`SignatureChecker`: the analysis port (`SignatureChecking`) for PDF, CMS and S/MIME."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Awaitable, Callable, Coroutine
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any, TypeVar

from gateway.signatures import cms, pdf, quiet
from gateway.signatures.cache import VerdictCache
from gateway.signatures.combine import combine
from gateway.signatures.context import Checking
from gateway.signatures.horizon import Interval, material_dates
from gateway.signatures.model import SignatureKind, SignatureResult, SignatureVerdict
from gateway.signatures.outcome import failed
from gateway.signatures.settings import SignatureSettings
from gateway.signatures.trust import TrustMaterial, TrustSources

quiet.install()

Result = TypeVar("Result")
Opaque = tuple[SignatureVerdict, bytes | None]
Clock = Callable[[], datetime]
Work = Callable[[Checking], Awaitable[SignatureVerdict]]
Dated = tuple[SignatureVerdict, Interval]  # a verdict and the time it holds in


def utcnow() -> datetime:
    return datetime.now(UTC)


def _run(coroutine: Coroutine[Any, Any, Result]) -> Result:
    """Run a coroutine to completion, also from a thread that already runs an event loop."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coroutine)
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


def _digest(*parts: bytes) -> str:
    return _combined(*(hashlib.sha256(part).digest() for part in parts))


def _combined(*digests: bytes) -> str:
    """The cache key of parts hashed to `digests` (SHA-256 each)."""
    hasher = hashlib.sha256()
    for digest in digests:
        hasher.update(digest)
    return hasher.hexdigest()


def _crlf(data: bytes) -> bytes:
    return data.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


class SignatureChecker:
    """Validates signatures against one trust material and settings; verdicts cached by hash
    while the dates they depended on allow (see `horizon`).

    Picklable (the cache is not carried over); a process keeps one in its
    `gateway.signatures.setup.CheckerCache`.
    """

    def __init__(
        self,
        material: TrustMaterial,
        sources: TrustSources,
        settings: SignatureSettings,
        clock: Clock = utcnow,
    ) -> None:
        self.material = material
        self.sources = sources
        self.settings = settings
        self._clock = clock
        self._checking = Checking.of(material, sources, settings)
        self._material_dates = material_dates(material)
        self.cache: VerdictCache[Dated] = VerdictCache(
            settings.cache_entries, settings.cache_ttl_seconds
        )

    def __reduce__(self) -> tuple[Any, ...]:
        return (SignatureChecker, (self.material, self.sources, self.settings, self._clock))

    @property
    def generation(self) -> str:
        """Fingerprint of the trust material this checker trusts."""
        return self.material.generation

    def _cached(self, kind: str, digest: str, work: Work) -> SignatureVerdict:
        """The verdict of `work` for these bytes, computed again unless one was computed
        before (within the cache's TTL) in the stretch of time the clock is still in: no
        certificate, CRL or signing date it depended on lies between then and now."""
        now = self._clock()
        cached = self.cache.get((kind, digest), fresh=lambda entry: entry[1].holds(now))
        if cached is not None:
            return cached[0]
        checking = self._checking.at(now)
        verdict = _run(self._checked(work, checking))
        self.cache.put((kind, digest),
                       (verdict, Interval.around(now, [*self._material_dates, *checking.dates])))
        return verdict

    def _one(self, result: SignatureResult) -> SignatureVerdict:
        return combine([result], self.settings)

    @staticmethod
    async def _checked(work: Work, checking: Checking) -> SignatureVerdict:
        """Run `work` with `checking`; close what it opened."""
        try:
            return await work(checking)
        finally:
            await checking.close()

    def check_pdf(self, data: bytes, sha256: str | None = None) -> SignatureVerdict:
        """Embedded PDF signatures; `missing` when the PDF has none. `sha256`: the hash of
        `data` (hex), when the caller has it already."""

        async def work(checking: Checking) -> SignatureVerdict:
            try:
                return await pdf.check_pdf(data, checking)
            except Exception as exc:  # fail closed
                return self._one(failed(SignatureKind.PDF, exc))

        key = _combined(bytes.fromhex(sha256)) if sha256 else _digest(data)
        return self._cached("pdf", key, work)

    @staticmethod
    async def _detached(
        content: bytes, signature: bytes, kind: SignatureKind, checking: Checking
    ) -> SignatureResult:
        try:
            signed_data = cms.signed_data_of(signature)
            return await cms.validate_cms(signed_data, content, kind, checking)
        except Exception as exc:  # fail closed: a signature the validator chokes on is invalid
            return failed(kind, exc)

    def check_detached(self, content: bytes, signature: bytes) -> SignatureVerdict:
        """A detached CMS signature (`X.pdf.p7s`, `X.pdf.sig`) over `content`."""

        async def work(checking: Checking) -> SignatureVerdict:
            return self._one(
                await self._detached(content, signature, SignatureKind.DETACHED_CMS, checking))

        return self._cached("detached", _digest(content, signature), work)

    @classmethod
    async def _smime_signed(
        cls,
        signed_part: bytes,
        signature: bytes,
        sender: tuple[str | None, str | None],
        checking: Checking,
    ) -> SignatureResult:
        result = await cls._detached(signed_part, signature, SignatureKind.SMIME, checking)
        canonical = _crlf(signed_part)
        if result.status != "valid" and canonical != signed_part:
            retried = await cls._detached(canonical, signature, SignatureKind.SMIME, checking)
            result = retried if retried.status == "valid" else result
        if result.signer is None:
            return result
        try:
            return cms.bind_sender(result, cms.signed_data_of(signature), *sender)
        except Exception as exc:  # fail closed
            return failed(SignatureKind.SMIME, exc)

    def check_smime_signed(
        self,
        signed_part: bytes,
        signature: bytes,
        from_address: str | None,
        from_problem: str | None = None,
    ) -> SignatureVerdict:
        """`multipart/signed`: the signer certificate's e-mail must be the From address."""
        sender = (from_address, from_problem)

        async def work(checking: Checking) -> SignatureVerdict:
            return self._one(await self._smime_signed(signed_part, signature, sender, checking))

        digest = _digest(signed_part, signature, _sender_key(sender))
        return self._cached("smime-signed", digest, work)

    @staticmethod
    async def _smime_opaque(
        pkcs7: bytes, sender: tuple[str | None, str | None], checking: Checking
    ) -> SignatureResult:
        try:
            signed_data = cms.signed_data_of(pkcs7)
            content = cms.enclosed_content(signed_data)
            if content is None:
                raise ValueError("signed-data encloses no content")
            result = await cms.validate_cms(
                signed_data, content, SignatureKind.SMIME, checking, enclosed=True
            )
            return cms.bind_sender(result, signed_data, *sender)
        except Exception as exc:  # fail closed
            return failed(SignatureKind.SMIME, exc)

    def check_smime_opaque(
        self, pkcs7: bytes, from_address: str | None, from_problem: str | None = None
    ) -> Opaque:
        """`application/pkcs7-mime` signed-data: the verdict and the enclosed MIME entity.

        Only the verdict is cached (the entity may be large); None when unreadable.
        """

        sender = (from_address, from_problem)

        async def work(checking: Checking) -> SignatureVerdict:
            return self._one(await self._smime_opaque(pkcs7, sender, checking))

        digest = _digest(pkcs7, _sender_key(sender))
        verdict = self._cached("smime-opaque", digest, work)
        return verdict, _enclosed(pkcs7)


def _sender_key(sender: tuple[str | None, str | None]) -> bytes:
    """The From binding as part of a cache key."""
    return "\n".join(part or "" for part in sender).encode()


def _enclosed(pkcs7: bytes) -> bytes | None:
    try:
        return cms.enclosed_content(cms.signed_data_of(pkcs7))
    except Exception:  # an unreadable object encloses nothing; its verdict says why
        return None


def build_checker(trust: TrustSources, settings: SignatureSettings) -> SignatureChecker:
    """Load the trust material of `trust` (raises `TrustLoadError`) into a new checker."""
    return SignatureChecker(TrustMaterial.load(trust), trust, settings)
