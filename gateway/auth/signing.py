"""DKIM signing of mail from inside (RFC 6376, RFC 8463): keys per domain, relaxed/relaxed.

A From domain without its own entry is signed with the nearest parent domain
that has one (d= the parent). Several entries for one domain (an RSA and an
Ed25519 key, or two selectors during a rotation) each add a signature.
"""

from __future__ import annotations

import base64
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import dkim
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa

from gateway.mail.headers import UnsignableHeader

MIN_RSA_BITS = 2048

#: The header fields signed when present, each as often as it occurs; From once more
#: (oversigned), so that no From can be added after signing (RFC 6376 8.15).
SIGNED_FIELDS = (
    "from", "sender", "reply-to", "subject", "date", "message-id", "to", "cc",
    "in-reply-to", "references", "mime-version", "content-type",
    "content-transfer-encoding", "content-disposition", "list-id", "list-unsubscribe",
)
OVERSIGNED = ("from",)


class SigningKeyError(Exception):
    """A configured key cannot be used; the message names the file and why."""


@dataclass(frozen=True, slots=True)
class SigningKey:
    """One `dkim.signing` entry, loaded: `algorithm` is `rsa-sha256` or `ed25519-sha256`."""

    domain: str
    selector: str
    algorithm: str
    private: bytes
    path: Path


def load_key(domain: str, selector: str, path: Path) -> SigningKey:
    """Read and check one private key (PEM RSA of 2048 bits or more, or Ed25519 as PEM
    or as the base64 seed `dknewkey` writes)."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise SigningKeyError(f"dkim key {path} for {selector}._domainkey.{domain}: "
                              f"cannot read it ({exc.strerror or exc})") from exc
    where = f"dkim key {path} for {selector}._domainkey.{domain}"
    text = data.strip()
    if text.startswith(b"-----BEGIN"):
        try:
            key = serialization.load_pem_private_key(text, password=None)
        except (ValueError, TypeError) as exc:
            raise SigningKeyError(f"{where}: not a usable private key ({exc})") from exc
        if isinstance(key, rsa.RSAPrivateKey):
            if key.key_size < MIN_RSA_BITS:
                raise SigningKeyError(f"{where}: RSA key of {key.key_size} bits; "
                                      f"at least {MIN_RSA_BITS} are required")
            pem = key.private_bytes(serialization.Encoding.PEM,
                                    serialization.PrivateFormat.TraditionalOpenSSL,
                                    serialization.NoEncryption())
            return SigningKey(domain, selector, "rsa-sha256", pem, path)
        if isinstance(key, ed25519.Ed25519PrivateKey):
            seed = key.private_bytes(serialization.Encoding.Raw,
                                     serialization.PrivateFormat.Raw,
                                     serialization.NoEncryption())
            return SigningKey(domain, selector, "ed25519-sha256", base64.b64encode(seed), path)
        raise SigningKeyError(f"{where}: only RSA and Ed25519 keys can sign DKIM")
    try:
        seed = base64.b64decode(text, validate=True)
    except ValueError:
        seed = b""
    if len(seed) != 32:
        raise SigningKeyError(f"{where}: neither a PEM private key nor a base64 Ed25519 seed")
    return SigningKey(domain, selector, "ed25519-sha256", base64.b64encode(seed), path)


class DkimSigner:
    """The configured keys by domain; `sign` returns the DKIM-Signature fields to prepend."""

    def __init__(self, keys: Iterable[SigningKey]) -> None:
        self.by_domain: dict[str, list[SigningKey]] = {}
        for key in keys:
            self.by_domain.setdefault(key.domain.lower().rstrip("."), []).append(key)

    def keys_for(self, domain: str) -> list[SigningKey]:
        """The keys of `domain`, else of its nearest parent that has keys."""
        labels = domain.lower().rstrip(".").split(".")
        for start in range(len(labels) - 1):
            found = self.by_domain.get(".".join(labels[start:]))
            if found:
                return found
        return []

    def sign(self, message: bytes, domain: str) -> bytes:
        """DKIM-Signature fields (CRLF lines, newest first) for `message`, or b"" when no key
        covers `domain`. Raises UnsignableHeader on a header section dkimpy cannot read."""
        keys = self.keys_for(domain)
        if not keys:
            return b""
        try:
            signer = dkim.DKIM(message, linesep=b"\r\n")
        except dkim.MessageFormatError as exc:
            raise UnsignableHeader(str(exc)) from exc
        present = [name.lower() for name, _ in signer.headers]
        include = [name for name in present if name.decode("ascii", "replace") in SIGNED_FIELDS]
        include += [name.encode() for name in OVERSIGNED]
        fields = []
        for key in keys:
            field = signer.sign(
                key.selector.encode(), key.domain.encode(), key.private,
                signature_algorithm=key.algorithm.encode(),
                canonicalize=(b"relaxed", b"relaxed"), include_headers=include,
            )
            fields.append(field if field.endswith(b"\r\n") else field + b"\r\n")
        return b"".join(reversed(fields))


def public_record(key: SigningKey) -> str:
    """The DNS TXT record that publishes `key`: `SELECTOR._domainkey.DOMAIN. IN TXT "…"`."""
    if key.algorithm == "rsa-sha256":
        private = serialization.load_pem_private_key(key.private, password=None)
        assert isinstance(private, rsa.RSAPrivateKey)
        public = private.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
        kind = "rsa"
    else:
        seed = base64.b64decode(key.private)
        public = ed25519.Ed25519PrivateKey.from_private_bytes(seed).public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        kind = "ed25519"
    value = f"v=DKIM1; k={kind}; p={base64.b64encode(public).decode()}"
    chunks = " ".join(f'"{value[i:i + 255]}"' for i in range(0, len(value), 255))
    return f"{key.selector}._domainkey.{key.domain}. IN TXT {chunks}"
