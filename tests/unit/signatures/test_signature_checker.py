"""The checker as the analysis uses it: port, cache by hash, pickling, per-process reuse
(one `CheckerCache` object per process)."""

from __future__ import annotations

import asyncio
import hashlib
import pickle
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from gateway.analysis.ports import SignatureChecking
from gateway.signatures.cache import VerdictCache
from gateway.signatures.checker import SignatureChecker, build_checker
from gateway.signatures.model import SignatureStatus
from gateway.signatures.settings import SignatureSettings
from gateway.signatures.setup import CheckerCache, SignatureSetup
from gateway.signatures.trust import TrustMaterial, TrustSources
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


def test_a_hash_given_by_the_caller_finds_the_same_verdict(
    trust: TrustSources, pdfs: dict[str, bytes]
) -> None:
    checker = build_checker(trust, SignatureSettings())
    first = checker.check_pdf(pdfs["valid"])
    again = checker.check_pdf(pdfs["valid"], hashlib.sha256(pdfs["valid"]).hexdigest())
    assert again is first and checker.cache.hits == 1
    tampered = checker.check_pdf(pdfs["tampered"], hashlib.sha256(pdfs["tampered"]).hexdigest())
    assert tampered is checker.check_pdf(pdfs["tampered"]) and checker.cache.misses == 2


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


def test_checker_cache_reuses_and_reloads(tmp_trust: TrustSources, pki: Pki) -> None:
    settings = SignatureSettings()
    cache = CheckerCache()
    first = cache.checker(SignatureSetup(tmp_trust, "gen-1", settings))
    assert cache.checker(SignatureSetup(tmp_trust, "gen-1", SignatureSettings())) is first
    sha1 = SignatureSetup(tmp_trust, "gen-1", SignatureSettings(allow_sha1=True))
    assert cache.checker(sha1) is not first
    again = cache.checker(SignatureSetup(tmp_trust, "gen-1", settings))
    assert again is not first
    assert tmp_trust.anchors is not None
    (tmp_trust.anchors / "second.pem").write_bytes(pki.untrusted_root.cert_pem)
    assert cache.checker(SignatureSetup(tmp_trust, "gen-1", settings)) is again
    reloaded = cache.checker(SignatureSetup(tmp_trust, "gen-2", settings))
    assert reloaded is not again and len(reloaded.material.anchors) == 2
    other = TrustSources(tmp_trust.anchors, tmp_trust.intermediates, None)
    assert cache.checker(SignatureSetup(other, "gen-2", settings)) is not reloaded


def test_checker_cache_reads_the_snapshot_not_the_files(
    tmp_trust: TrustSources, pki: Pki, tmp_path: Path
) -> None:
    snapshot = tmp_path / "trust.pickle"
    snapshot.write_bytes(pickle.dumps(TrustMaterial.load(tmp_trust)))
    assert tmp_trust.anchors is not None
    (tmp_trust.anchors / "second.pem").write_bytes(pki.untrusted_root.cert_pem)
    setup = SignatureSetup(tmp_trust, "gen-1", SignatureSettings(), snapshot)
    assert len(CheckerCache().checker(setup).material.anchors) == 1


def test_each_cache_is_its_own(tmp_trust: TrustSources) -> None:
    setup = SignatureSetup(tmp_trust, "gen-1", SignatureSettings())
    assert CheckerCache().checker(setup) is not CheckerCache().checker(setup)


_WORKER: dict[str, SignatureChecker] = {}


def _init(trust: TrustSources, settings: SignatureSettings) -> None:
    _WORKER["checker"] = build_checker(trust, settings)


def _status(data: bytes) -> tuple[str, int]:
    checker = _WORKER["checker"]
    return checker.check_pdf(data).status.value, checker.cache.hits


def test_in_a_process_pool(trust: TrustSources, pdfs: dict[str, bytes]) -> None:
    with ProcessPoolExecutor(1, initializer=_init, initargs=(trust, SignatureSettings())) as pool:
        assert pool.submit(_status, pdfs["valid"]).result(timeout=60) == ("valid", 0)
        assert pool.submit(_status, pdfs["valid"]).result(timeout=60) == ("valid", 1)
        assert pool.submit(_status, pdfs["expired"]).result(timeout=60) == ("expired", 1)
