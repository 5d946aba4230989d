"""DKIM signing and verification, checked against OpenDKIM and dkimpy with keys served by a
real DNS server on loopback."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import dkim
import pytest

from gateway.auth.dns import DnsCache, DnsClient, DnsSettingsValue
from gateway.auth.keygen import generate
from gateway.auth.results import Result
from gateway.auth.signing import DkimSigner, SigningKey, SigningKeyError, load_key
from gateway.auth.verify import verify_arc, verify_dkim
from tests.support import opendkim
from tests.support.dnsserver import DnsServer

MESSAGE = (b"Received: from a by b; Fri, 4 Dec 2026 10:00:00 +0000\r\n"
           b"From: =?utf-8?b?VsSDbiB0aMawIA==?= <vanthu@so-tc.thuathienhue.gov.vn>\r\n"
           b"To: partner@example.org\r\nSubject: Giay moi hop\r\n"
           b"Date: Fri, 04 Dec 2026 10:00:00 +0700\r\nMessage-ID: <1@so-tc.thuathienhue.gov.vn>\r\n"
           b"MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
           b"Kinh gui quy co quan,\r\n\r\n.dot line\r\n")


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> dict[str, SigningKey]:
    folder = tmp_path_factory.mktemp("dkim")
    return {
        "rsa": generate("thuathienhue.gov.vn", "s2026", "rsa", folder),
        "ed": generate("thuathienhue.gov.vn", "e2026", "ed25519", folder),
        "hue": generate("hue.gov.vn", "s2026", "rsa", folder),
    }


def zone_with(keys: dict[str, SigningKey]) -> DnsServer:
    from gateway.auth.signing import public_record

    zone = DnsServer()
    for key in keys.values():
        record = public_record(key)
        name, _, value = record.partition(". IN TXT ")
        zone.add(name, "TXT", value)
    return zone


@pytest.fixture
def zone(keys: dict[str, SigningKey]) -> Iterator[DnsServer]:
    server = zone_with(keys)
    with server.running():
        yield server


def client(zone: DnsServer) -> DnsClient:
    return DnsClient(DnsSettingsValue(((zone.host, zone.port),), 1.0, 3.0), DnsCache())


def test_keygen_writes_a_private_key_0600_and_prints_the_record(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "gateway.cli", "dkim", "keygen", "hue.gov.vn", "s1",
         "--algorithm", "ed25519", "--out", str(tmp_path / "keys")],
        capture_output=True, text=True, timeout=60,
    )
    assert done.returncode == 0, done.stderr
    key = tmp_path / "keys" / "hue.gov.vn.s1.key"
    assert stat.S_IMODE(os.stat(key).st_mode) == 0o600
    assert done.stdout.startswith('s1._domainkey.hue.gov.vn. IN TXT "v=DKIM1; k=ed25519; p=')
    again = subprocess.run(
        [sys.executable, "-m", "gateway.cli", "dkim", "keygen", "hue.gov.vn", "s1",
         "--out", str(tmp_path / "keys")], capture_output=True, text=True, timeout=60)
    assert again.returncode == 2 and "exists" in again.stderr  # never overwrites a key


def test_rsa_and_ed25519_dual_signature_verifies_with_dkimpy(
        keys: dict[str, SigningKey], zone: DnsServer) -> None:
    signer = DkimSigner([keys["rsa"], keys["ed"]])
    signed = signer.sign(MESSAGE, "thuathienhue.gov.vn") + MESSAGE
    results = verify_dkim(signed, client(zone))
    assert {(r.domain, r.selector, r.algorithm, r.result) for r in results} == {
        ("thuathienhue.gov.vn", "s2026", "rsa-sha256", Result.PASS),
        ("thuathienhue.gov.vn", "e2026", "ed25519-sha256", Result.PASS),
    }
    field = signed.split(b"\r\n\r\n")[0].decode()
    assert "c=relaxed/relaxed" in field
    assert "h=from : to : subject : date : message-id : mime-version : content-type : from" \
        in " ".join(field.split()).lower().replace(";", " ;")


def test_agency_subdomain_is_signed_with_the_parent_key(keys: dict[str, SigningKey]) -> None:
    signer = DkimSigner([keys["rsa"], keys["hue"]])
    field = signer.sign(MESSAGE, "so-tc.thuathienhue.gov.vn")
    assert b"d=thuathienhue.gov.vn;" in field and b"s=s2026" in field
    assert signer.sign(MESSAGE, "example.org") == b""
    assert signer.keys_for("gov.vn") == []


def test_a_from_added_after_signing_breaks_the_signature(
        keys: dict[str, SigningKey], zone: DnsServer) -> None:
    signed = DkimSigner([keys["rsa"]]).sign(MESSAGE, "thuathienhue.gov.vn") + MESSAGE
    forged = signed.replace(b"To: ", b"From: boss@thuathienhue.gov.vn\r\nTo: ", 1)
    assert [r.result for r in verify_dkim(forged, client(zone))] == [Result.FAIL]
    body = signed.replace(b"quy co quan", b"quy co quam")
    assert [r.result for r in verify_dkim(body, client(zone))] == [Result.FAIL]


def test_gateway_signature_verifies_with_opendkim(
        keys: dict[str, SigningKey], tmp_path: Path) -> None:
    signed = DkimSigner([keys["rsa"]]).sign(MESSAGE, "thuathienhue.gov.vn") + MESSAGE
    server = zone_with(keys)
    with opendkim.resolving(server, tmp_path) as conf:
        good = opendkim.verify(signed, conf)
        bad = opendkim.verify(signed.replace(b"Giay moi", b"Giay moj"), conf)
    assert good.returncode == 0, good.stderr
    assert bad.returncode != 0 and b"signature" in bad.stderr.lower()
    assert any(q[0] == "s2026._domainkey.thuathienhue.gov.vn" for q in server.queries)


def test_opendkim_signature_verifies_in_the_gateway(
        keys: dict[str, SigningKey], zone: DnsServer) -> None:
    signed = opendkim.sign(MESSAGE, "hue.gov.vn", "s2026", keys["hue"].path)
    results = verify_dkim(signed, client(zone))
    assert [(r.domain, r.result) for r in results] == [("hue.gov.vn", Result.PASS)]
    assert dkim.verify(signed, dnsfunc=lambda name, timeout=5: client(zone).lookup(
        name.decode(), "TXT").records[0])


def test_dkim_failure_kinds(keys: dict[str, SigningKey], zone: DnsServer) -> None:
    unknown = DkimSigner([SigningKey("thuathienhue.gov.vn", "gone", "rsa-sha256",
                                     keys["rsa"].private, keys["rsa"].path)])
    signed = unknown.sign(MESSAGE, "thuathienhue.gov.vn") + MESSAGE
    assert [r.result for r in verify_dkim(signed, client(zone))] == [Result.PERMERROR]
    zone.behaviour["gone._domainkey.thuathienhue.gov.vn"] = "servfail"
    assert [r.result for r in verify_dkim(signed, client(zone))] == [Result.TEMPERROR]
    assert verify_dkim(MESSAGE, client(zone)) == ()


def test_unusable_keys_are_configuration_errors(tmp_path: Path) -> None:
    with pytest.raises(SigningKeyError, match="cannot read"):
        load_key("hue.gov.vn", "s1", tmp_path / "missing.key")
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    small = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    weak = tmp_path / "weak.key"
    weak.write_bytes(small.private_bytes(serialization.Encoding.PEM,
                                         serialization.PrivateFormat.PKCS8,
                                         serialization.NoEncryption()))
    with pytest.raises(SigningKeyError, match="1024 bits"):
        load_key("hue.gov.vn", "s1", weak)
    junk = tmp_path / "junk.key"
    junk.write_text("not a key")
    with pytest.raises(SigningKeyError, match="neither"):
        load_key("hue.gov.vn", "s1", junk)


def test_serve_refuses_to_start_with_a_missing_key(tmp_path: Path) -> None:
    config = tmp_path / "gateway.yaml"
    config.write_text("dkim:\n  signing:\n    - {domain: thuathienhue.gov.vn, selector: s2026, "
                      f"key: {tmp_path / 'nothere.key'}}}\n")
    done = subprocess.run([sys.executable, "-m", "gateway.cli", "serve", "--config", str(config)],
                          capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert done.returncode == 2
    assert "dkim.signing.0" in done.stderr and "nothere.key" in done.stderr


@pytest.mark.parametrize("first", [b" x: y", b"\tcontinued"])
def test_a_message_whose_first_header_line_is_a_continuation_is_not_parsable(
        keys: dict[str, SigningKey], zone: DnsServer, first: bytes) -> None:
    """dkimpy's header parser raises IndexError on it: each check says why, none raises."""
    signed = DkimSigner([keys["rsa"]]).sign(MESSAGE, "thuathienhue.gov.vn") + MESSAGE
    seal = b"ARC-Seal: i=1; a=rsa-sha256; cv=none; d=x.test; s=a; b=\r\n"
    broken = first + b"\r\n" + seal + signed
    (result,) = verify_dkim(broken, client(zone))
    assert (result.result, result.reason) == (Result.PERMERROR,
                                              "message not parsable (IndexError)")
    arc = verify_arc(broken, client(zone))
    assert (arc.result, arc.reason) == (Result.FAIL, "message not parsable (IndexError)")


@pytest.mark.parametrize(("domain", "selector"), [
    ("../../evil", "s3"), ("example.com", ""), ("a;p=evil", "s1"), ("huế.vn", "s1"),
    ("example.com", "../x"), ("a b.com", "s1"),
])
def test_keygen_refuses_a_name_that_is_not_dns_labels(
        tmp_path: Path, domain: str, selector: str) -> None:
    """Such a name would make an unusable TXT record, or a key file outside --out."""
    done = subprocess.run(
        [sys.executable, "-m", "gateway.cli", "dkim", "keygen", domain, selector,
         "--out", str(tmp_path / "keys" / "sub")],
        capture_output=True, text=True, timeout=60)
    assert done.returncode == 2, done.stderr
    assert "not a host name" in done.stderr and "Traceback" not in done.stderr
    assert done.stdout == ""
    assert list(tmp_path.rglob("*.key")) == []
