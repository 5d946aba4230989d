"""Trust sources (paths) and the trust material read from them, immutable once loaded."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import NamedTuple

from asn1crypto import crl, pem, x509

CERT_SUFFIXES = frozenset({".pem", ".crt", ".cer", ".der"})
CRL_SUFFIXES = frozenset({".crl", ".pem", ".der"})
CERT_PEM_TYPES = frozenset({"CERTIFICATE", "X509 CERTIFICATE"})
CRL_PEM_TYPES = frozenset({"X509 CRL"})


class TrustLoadError(ValueError):
    """A trust file or directory that cannot be used; the message names it."""

    def __init__(self, path: Path, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = path
        self.reason = reason


@dataclass(frozen=True, slots=True)
class TrustSources:
    """Where trust comes from: the `--trust-anchors`, `--intermediates`, `--crls` paths.

    `anchors` is a PEM/DER file (a bundle) or a directory; None means no trust
    anchors at all (every signature is still checked, and found `untrusted`).
    `intermediates` and `crls` are files or directories (PEM or DER). Online
    CRL/OCSP fetching is off unless `allow_fetching`, then each request is
    bounded by `fetch_timeout` seconds.
    """

    anchors: Path | None
    intermediates: Path | None = None
    crls: Path | None = None
    allow_fetching: bool = False
    fetch_timeout: float = 10.0

    def stamp(self) -> tuple[tuple[str, int, int], ...]:
        """(path, mtime_ns, size) of every trust file: changes when any file does."""
        paths = [self.anchors, self.intermediates, self.crls]
        found: list[tuple[str, int, int]] = []
        for path in (p for p in paths if p is not None):
            files = sorted(path.iterdir()) if path.is_dir() else [path]
            for file in files:
                if file.is_file():
                    info = file.stat()
                    found.append((str(file), info.st_mtime_ns, info.st_size))
        return tuple(found)


class Expiry(NamedTuple):
    """When one piece of trust material stops being usable (a certificate's notAfter,
    a CRL's nextUpdate); unpacks as (kind, name, moment)."""

    kind: str
    name: str
    moment: datetime


@dataclass(frozen=True, slots=True)
class NamedCertificate:
    """A certificate (DER) and where it came from ("file" or "file#2" in a bundle)."""

    name: str
    der: bytes

    def load(self) -> x509.Certificate:
        return x509.Certificate.load(self.der)


@dataclass(frozen=True, slots=True)
class NamedCrl:
    """A CRL (DER) and the file it came from."""

    name: str
    der: bytes

    def load(self) -> crl.CertificateList:
        return crl.CertificateList.load(self.der)


def _der_blocks(path: Path, data: bytes, pem_types: frozenset[str]) -> list[bytes]:
    if not pem.detect(data):
        return [data]
    try:
        blocks = [(kind, der) for kind, _headers, der in pem.unarmor(data, multiple=True)]
    except ValueError as exc:  # binascii.Error included: a block that is not base64
        raise TrustLoadError(path, f"not readable PEM ({exc})") from exc
    wanted = [der for kind, der in blocks if kind in pem_types]
    if not wanted:
        raise TrustLoadError(path, f"no PEM block of type {' or '.join(sorted(pem_types))}")
    return wanted


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise TrustLoadError(path, exc.strerror or str(exc)) from exc


def _label(path: Path, index: int, count: int) -> str:
    return path.name if count == 1 else f"{path.name}#{index}"


def _load_certificates(path: Path) -> list[NamedCertificate]:
    ders = _der_blocks(path, _read(path), CERT_PEM_TYPES)
    named: list[NamedCertificate] = []
    for index, der in enumerate(ders, start=1):
        try:
            _ = x509.Certificate.load(der)["tbs_certificate"]["validity"].native
        except (ValueError, TypeError, KeyError) as exc:
            raise TrustLoadError(path, f"not an X.509 certificate ({exc})") from exc
        named.append(NamedCertificate(_label(path, index, len(ders)), der))
    return named


def _load_crls(path: Path) -> list[NamedCrl]:
    ders = _der_blocks(path, _read(path), CRL_PEM_TYPES)
    named: list[NamedCrl] = []
    for index, der in enumerate(ders, start=1):
        try:
            tbs = crl.CertificateList.load(der)["tbs_cert_list"]
            _ = (tbs["issuer"].native, tbs["this_update"].native, tbs["next_update"].native)
        except (ValueError, TypeError, KeyError) as exc:
            raise TrustLoadError(path, f"not a CRL ({exc})") from exc
        named.append(NamedCrl(_label(path, index, len(ders)), der))
    return named


def _files(path: Path, suffixes: frozenset[str]) -> list[Path]:
    if path.is_file():
        return [path]
    if not path.is_dir():
        raise TrustLoadError(path, "no such file or directory")
    return sorted(p for p in path.iterdir() if p.is_file() and p.suffix.lower() in suffixes)


def _certificates_from(path: Path | None) -> tuple[NamedCertificate, ...]:
    if path is None:
        return ()
    files = _files(path, CERT_SUFFIXES)
    return tuple(cert for file in files for cert in _load_certificates(file))


def _crls_from(path: Path | None) -> tuple[NamedCrl, ...]:
    if path is None:
        return ()
    return tuple(named for file in _files(path, CRL_SUFFIXES) for named in _load_crls(file))


def _generation(groups: Iterable[tuple[str, Iterable[NamedCertificate | NamedCrl]]]) -> str:
    digest = hashlib.sha256()
    for kind, items in groups:
        for der in sorted(hashlib.sha256(item.der).digest() for item in items):
            digest.update(kind.encode() + der)
    return digest.hexdigest()[:16]


@dataclass(frozen=True, slots=True)
class TrustMaterial:
    """The certificates and CRLs read from `TrustSources`; `generation` fingerprints them."""

    anchors: tuple[NamedCertificate, ...]
    intermediates: tuple[NamedCertificate, ...] = ()
    crls: tuple[NamedCrl, ...] = ()
    generation: str = ""

    @classmethod
    def load(cls, sources: TrustSources) -> TrustMaterial:
        """Read every file; raise `TrustLoadError` naming the first unusable one.

        An anchors path that holds no certificate is an error; no path (None) is not.
        """
        anchors = _certificates_from(sources.anchors)
        if sources.anchors is not None and not anchors:
            raise TrustLoadError(sources.anchors, "no trust anchor certificates found")
        intermediates = _certificates_from(sources.intermediates)
        crls = _crls_from(sources.crls)
        groups = (("anchor", anchors), ("intermediate", intermediates), ("crl", crls))
        return cls(anchors, intermediates, crls, _generation(groups))

    def expiries(self) -> list[Expiry]:
        """Anchors, intermediates (notAfter) and CRLs (nextUpdate), soonest first."""
        items = [Expiry("anchor", cert.name, _not_after(cert)) for cert in self.anchors]
        items += [
            Expiry("intermediate", cert.name, _not_after(cert)) for cert in self.intermediates
        ]
        for named in self.crls:
            next_update = named.load()["tbs_cert_list"]["next_update"].native
            if isinstance(next_update, datetime):
                items.append(Expiry("crl", named.name, next_update))
        return sorted(items, key=lambda item: item.moment)


def _not_after(cert: NamedCertificate) -> datetime:
    moment = cert.load()["tbs_certificate"]["validity"]["not_after"].native
    assert isinstance(moment, datetime)
    return moment


