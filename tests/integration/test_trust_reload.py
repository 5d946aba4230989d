"""The trust store as the running gateway holds it: expiry metrics, reload, last good kept.

`trust_reloadable(settings)` over a copy of the fixture PKI's trust folders; the
analysis runs as a worker runs it (`run_analysis` with the `SignatureSetup` the
decider hands out and the worker's one `CheckerCache`), so a reload is seen through the
checker the worker picks.
"""

from __future__ import annotations

import shutil
from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from prometheus_client import REGISTRY

from gateway.analysis.worker import run_analysis
from gateway.config import Settings
from gateway.policy.loader import Policy, load_policy
from gateway.reload import Reloadable
from gateway.service.assembly import trust_reloadable
from gateway.signatures.model import SignatureStatus
from gateway.signatures.setup import CheckerCache, LoadedTrust, SignatureSetup
from tests.fixtures.documents import Attachment, message, to_bytes
from tests.fixtures.pki import PERSON_EMAIL, Pki, make_crl
from tests.fixtures.signed import pki_at, signed_pdf
from tests.support.live import POLICIES

RECIPIENT = "vanphong@thuathienhue.gov.vn"
EXPIRY = "tth_trust_expiry_timestamp_seconds"
ERRORS = "tth_trust_reload_errors_total"


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    return pki_at(tmp_path_factory.mktemp("pki"))


@cache
def policy() -> Policy:
    return load_policy(POLICIES)


@pytest.fixture
def trust_dir(pki: Pki, tmp_path: Path) -> Path:
    """A private copy of the trust folders, for tests that edit them."""
    for source in (pki.anchors, pki.intermediates, pki.crls):
        shutil.copytree(source, tmp_path / source.name)
    return tmp_path


@pytest.fixture
def trust(trust_dir: Path) -> Reloadable[LoadedTrust]:
    settings = Settings.model_validate({"trust": {
        "anchors": str(trust_dir / "anchors"), "intermediates": str(trust_dir / "intermediates"),
        "crls": str(trust_dir / "crls"),
    }}, strict=False)
    snapshots = trust_dir / "snapshots"
    snapshots.mkdir()
    return trust_reloadable(settings, snapshots)


def expiry(kind: str, name: str) -> float | None:
    return REGISTRY.get_sample_value(EXPIRY, {"kind": kind, "name": name})


def reload_errors() -> float:
    return REGISTRY.get_sample_value(ERRORS) or 0.0


def ca_crl(pki: Pki, trust_dir: Path, *, revoke_person: bool, days: int) -> None:
    """Replace the issuing CA's CRL by one valid for `days` (the person revoked or not)."""
    revoked = [pki.revoked.cert] + ([pki.person.cert] if revoke_person else [])
    now = datetime.now(UTC).replace(microsecond=0)
    crl = make_crl(pki.ca, revoked, now - timedelta(minutes=5), now + timedelta(days=days))
    (trust_dir / "crls" / "ca.crl").write_bytes(crl.public_bytes(serialization.Encoding.DER))


#: The checker cache of the worker process the analyses run in.
WORKER = CheckerCache()


def statuses(pki: Pki, trust: Reloadable[LoadedTrust],
             checkers: CheckerCache = WORKER) -> list[SignatureStatus]:
    """The signature status of each document of an invitation signed by the person, analysed
    under the trust store the decider would hand out now."""
    raw = to_bytes(message(sender=PERSON_EMAIL, to=RECIPIENT,
                           attachments=[Attachment("giay-moi-hop.pdf", signed_pdf(pki, "valid"))]))
    loaded = trust.current
    setup = SignatureSetup(loaded.sources, loaded.generation, policy().signature_settings,
                           loaded.snapshot)
    analysis = run_analysis(raw, policy().analysis_settings, setup, checkers)
    return [document.signature.status for document in analysis.documents if document.filename]


def test_loading_publishes_the_expiry_of_every_anchor_intermediate_and_crl(
    pki: Pki, trust_dir: Path, trust: Reloadable[LoadedTrust]
) -> None:
    assert trust.loaded.generation == 1
    assert expiry("anchor", "root.pem") == pki.root.cert.not_valid_after_utc.timestamp()
    assert expiry("intermediate", "ca.der") == pki.ca.cert.not_valid_after_utc.timestamp()
    week = expiry("crl", "ca.crl")
    assert week is not None and week > datetime.now(UTC).timestamp() + 6 * 86400
    ca_crl(pki, trust_dir, revoke_person=False, days=2)
    assert trust.reload() == []
    two_days = expiry("crl", "ca.crl")
    assert two_days is not None and two_days < week - 4 * 86400


def test_reloaded_crl_revokes_the_signer_for_the_next_analysis(
    pki: Pki, trust_dir: Path, trust: Reloadable[LoadedTrust]
) -> None:
    assert statuses(pki, trust) == [SignatureStatus.VALID]
    before = trust.loaded
    ca_crl(pki, trust_dir, revoke_person=True, days=7)
    assert trust.changed()
    assert trust.reload() == []
    after = trust.loaded
    assert after.generation == 2
    assert after.value.generation != before.value.generation
    assert after.value.snapshot != before.value.snapshot
    assert statuses(pki, trust) == [SignatureStatus.REVOKED]


def test_broken_trust_file_keeps_the_last_good_generation_and_is_counted(
    pki: Pki, trust_dir: Path, trust: Reloadable[LoadedTrust]
) -> None:
    assert statuses(pki, trust) == [SignatureStatus.VALID]
    good, errors = trust.loaded, reload_errors()
    garbage = trust_dir / "anchors" / "garbage.pem"
    garbage.write_bytes(b"-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydA==\n"
                        b"-----END CERTIFICATE-----\n")
    refused = trust.reload()
    assert len(refused) == 1 and "garbage.pem" in refused[0]
    assert trust.loaded is good
    assert reload_errors() == errors + 1
    assert expiry("anchor", "root.pem") == pki.root.cert.not_valid_after_utc.timestamp()
    assert expiry("anchor", "garbage.pem") is None
    assert statuses(pki, trust) == [SignatureStatus.VALID]
    started_after = CheckerCache()  # a worker started after the broken edit
    assert statuses(pki, trust, started_after) == [SignatureStatus.VALID]
    garbage.unlink()
    assert trust.reload() == []
    assert trust.loaded.generation == good.generation + 1
    assert reload_errors() == errors + 1
