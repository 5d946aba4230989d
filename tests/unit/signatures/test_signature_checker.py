"""The checker as the analysis uses it: port, cache by hash, pickling, per-process reuse."""

from __future__ import annotations

import asyncio
import pickle
from concurrent.futures import ProcessPoolExecutor

from gateway.analysis.ports import SignatureChecking
from gateway.signatures import checker as checker_module
from gateway.signatures.cache import VerdictCache
from gateway.signatures.checker import SignatureChecker, build_checker, checker_for_process
from gateway.signatures.model import SignatureStatus
from gateway.signatures.settings import SignatureSettings
from gateway.signatures.trust import TrustSources
from tests.fixtures.pki import Pki
from tests.fixtures.signed import SmimeOpaque, SmimeSigned


def test_implements_the_analysis_port(checker: SignatureChecker) -> None:
    port: SignatureChecking = checker
    assert port.check_pdf(b"").status == SignatureStatus.MISSING


def test_same_bytes_are_validated_once(trust: TrustSources, pdfs: dict[str, bytes]) -> None:
    checker = build_checker(trust, SignatureSettings())
    first = checker.check_pdf(pdfs["valid"])
    second = checker.check_pdf(bytes(pdfs["valid"]))
    assert second is first
    assert (checker.cache.hits, checker.cache.misses) == (1, 1)
    checker.check_pdf(pdfs["tampered"])
    assert checker.cache.misses == 2


def test_cache_is_a_bounded_lru() -> None:
    cache: VerdictCache[int] = VerdictCache(max_entries=2)
    cache.put(("a",), 1)
    cache.put(("b",), 2)
    assert cache.get(("a",)) == 1
    cache.put(("c",), 3)
    assert cache.get(("b",)) is None
    assert (cache.get(("a",)), cache.get(("c",)), len(cache)) == (1, 3, 2)


def test_cache_entries_expire() -> None:
    now = [0.0]
    cache: VerdictCache[int] = VerdictCache(ttl_seconds=10, clock=lambda: now[0])
    cache.put(("a",), 1)
    now[0] = 11.0
    assert cache.get(("a",)) is None


def test_smime_cache_key_includes_from(
    checker: SignatureChecker, smime: dict[str, SmimeSigned | SmimeOpaque]
) -> None:
    item = smime["valid"]
    assert isinstance(item, SmimeSigned)
    part, signature = item.signed_part, item.signature
    assert checker.check_smime_signed(part, signature, item.from_address).status == "valid"
    assert checker.check_smime_signed(part, signature, "x@y.vn").status == "untrusted"


def test_pickles_without_its_cache(checker: SignatureChecker, pdfs: dict[str, bytes]) -> None:
    checker.check_pdf(pdfs["valid"])
    copy = pickle.loads(pickle.dumps(checker))
    assert len(copy.cache) == 0 and copy.generation == checker.generation
    assert copy.check_pdf(pdfs["valid"]).status == SignatureStatus.VALID


def test_runs_inside_an_event_loop(checker: SignatureChecker, pdfs: dict[str, bytes]) -> None:
    async def inside() -> SignatureStatus:
        return checker.check_pdf(pdfs["revoked"]).status

    assert asyncio.run(inside()) == SignatureStatus.REVOKED


def test_checker_for_process_reuses_and_reloads(tmp_trust: TrustSources, pki: Pki) -> None:
    settings = SignatureSettings()
    first = checker_for_process(tmp_trust, settings)
    assert checker_for_process(tmp_trust, SignatureSettings()) is first
    assert checker_for_process(tmp_trust, SignatureSettings(allow_sha1=True)) is not first
    again = checker_for_process(tmp_trust, settings)
    assert tmp_trust.anchors is not None
    (tmp_trust.anchors / "second.pem").write_bytes(pki.untrusted_root.cert_pem)
    reloaded = checker_for_process(tmp_trust, settings)
    assert reloaded is not again and len(reloaded.material.anchors) == 2
    other = TrustSources(tmp_trust.anchors, tmp_trust.intermediates, None)
    assert checker_for_process(other, settings) is not reloaded


def test_checker_for_process_uses_the_callers_generation(tmp_trust: TrustSources) -> None:
    settings = SignatureSettings()
    first = checker_for_process(tmp_trust, settings, "gen-1")
    assert checker_for_process(tmp_trust, settings, "gen-1") is first
    assert checker_for_process(tmp_trust, settings, "gen-2") is not first


_WORKER: dict[str, SignatureChecker] = {}


def _init(trust: TrustSources, settings: SignatureSettings) -> None:
    _WORKER["checker"] = checker_module.checker_for_process(trust, settings)


def _status(data: bytes) -> tuple[str, int]:
    checker = _WORKER["checker"]
    return checker.check_pdf(data).status.value, checker.cache.hits


def test_in_a_process_pool(trust: TrustSources, pdfs: dict[str, bytes]) -> None:
    with ProcessPoolExecutor(1, initializer=_init, initargs=(trust, SignatureSettings())) as pool:
        assert pool.submit(_status, pdfs["valid"]).result(timeout=60) == ("valid", 0)
        assert pool.submit(_status, pdfs["valid"]).result(timeout=60) == ("valid", 1)
        assert pool.submit(_status, pdfs["expired"]).result(timeout=60) == ("expired", 1)
