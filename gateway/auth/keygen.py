"""`tth-gateway dkim keygen`: a new private key (mode 0600) and the TXT record to publish."""

from __future__ import annotations

import base64
import os
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa

from gateway.auth.signing import SigningKey, load_key, public_record

RSA_BITS = 2048


def key_path(directory: Path, domain: str, selector: str) -> Path:
    """Where keygen puts a key: `DIR/DOMAIN.SELECTOR.key`, as the README's examples name it."""
    return directory / f"{domain}.{selector}.key"


def generate(domain: str, selector: str, algorithm: str, directory: Path) -> SigningKey:
    """Write a fresh key for `selector._domainkey.domain` and return it, loaded back from
    disk. An existing file is never overwritten (a rotation is a new selector)."""
    if algorithm == "rsa":
        private = rsa.generate_private_key(public_exponent=65537, key_size=RSA_BITS)
        data = private.private_bytes(serialization.Encoding.PEM,
                                     serialization.PrivateFormat.TraditionalOpenSSL,
                                     serialization.NoEncryption())
    else:
        seed = ed25519.Ed25519PrivateKey.generate().private_bytes(
            serialization.Encoding.Raw, serialization.PrivateFormat.Raw,
            serialization.NoEncryption())
        data = base64.b64encode(seed) + b"\n"
    directory.mkdir(parents=True, exist_ok=True)
    path = key_path(directory, domain, selector)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    return load_key(domain, selector, path)


def keygen(domain: str, selector: str, algorithm: str, directory: Path) -> str:
    """Generate the key; the TXT record line to print."""
    return public_record(generate(domain, selector, algorithm, directory))
