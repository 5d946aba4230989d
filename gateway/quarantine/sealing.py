"""Encryption at rest for held messages: AES-256-GCM, bound to the file it belongs to."""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

MAGIC = b"TTHQ1\n"
NONCE_SIZE = 12
KEY_SIZE = 32


class SealError(Exception):
    """A key cannot be loaded, or sealed bytes cannot be opened with it."""


def key_id(key: bytes) -> str:
    """A public fingerprint of `key`, recorded with what it sealed."""
    return hashlib.sha256(b"tth-quarantine-key\0" + key).hexdigest()[:16]


def load_key(path: Path) -> bytes:
    """The key in `path`: 32 bytes written as base64 (standard or URL-safe) or as raw bytes."""
    try:
        content = path.read_bytes()
    except OSError as exc:
        raise SealError(f"cannot read the quarantine key file {path}: {exc.strerror}") from exc
    if len(content) == KEY_SIZE:
        return content
    text = content.strip()
    try:
        secret = base64.b64decode(text.replace(b"-", b"+").replace(b"_", b"/"), validate=True)
    except (binascii.Error, ValueError):
        secret = b""
    if len(secret) != KEY_SIZE:
        raise SealError(
            f"the quarantine key file {path} must hold 32 random bytes in base64 "
            "(44 characters), e.g. from: "
            'python3 -c "import base64,os; print(base64.b64encode(os.urandom(32)).decode())"'
        )
    return secret


def seal(key: bytes, plaintext: bytes, context: bytes) -> bytes:
    """Encrypt `plaintext`; `context` (e.g. the held id) must be given again to open it."""
    nonce = os.urandom(NONCE_SIZE)
    return MAGIC + nonce + AESGCM(key).encrypt(nonce, plaintext, context)


def is_sealed(data: bytes) -> bool:
    return data.startswith(MAGIC)


def unseal(key: bytes, sealed: bytes, context: bytes) -> bytes:
    """Decrypt what `seal` made; a wrong key or changed bytes raise SealError."""
    if not is_sealed(sealed):
        raise SealError("not an encrypted quarantine file")
    body = sealed[len(MAGIC) :]
    nonce, ciphertext = body[:NONCE_SIZE], body[NONCE_SIZE:]
    try:
        return AESGCM(key).decrypt(nonce, ciphertext, context)
    except InvalidTag as exc:
        raise SealError(
            "cannot decrypt the held message: wrong quarantine key, or the file was altered"
        ) from exc
