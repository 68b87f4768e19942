# SPDX-License-Identifier: GPL-2.0-or-later
"""A recording's file key sealed for the QA team: only their private key opens it.

The hub keeps recordings still encrypted; with each goes its file key sealed
for the QA public key (X25519, configured as ``recording.qa_public_key``): an
ephemeral key pair's public half (32 bytes), a 12-byte nonce, and the file key
encrypted with AES-256-GCM under HKDF-SHA256 of the shared secret (bound to
both public keys). The hub and the agents cannot open it; a supervisor's
console with the private key (``recording.qa_private_key``, a 0600 file) can.
``cryptography`` is imported only here, when a recording is sealed or opened.
"""

from __future__ import annotations

import os
from pathlib import Path

_INFO = b"careline qa recording key v1"
SEALED_BYTES = 32 + 12 + 32 + 16
"""Length of a sealed 32-byte file key."""


class SealError(ValueError):
    """A key file that is not an X25519 key, or a sealed key that does not open."""


def _derive(shared: bytes, ephemeral: bytes, recipient: bytes) -> bytes:
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.kdf.hkdf import HKDF

    return HKDF(hashes.SHA256(), 32, salt=ephemeral + recipient, info=_INFO).derive(shared)


def _raw_public(key: object) -> bytes:
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    return key.public_bytes(Encoding.Raw, PublicFormat.Raw)  # type: ignore[attr-defined,no-any-return]


def load_public_key(pem: bytes) -> bytes:
    """The raw 32 bytes of an X25519 public key in PEM."""
    from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PublicKey
    from cryptography.hazmat.primitives.serialization import load_pem_public_key

    try:
        key = load_pem_public_key(pem)
    except ValueError:
        raise SealError("not a PEM public key") from None
    if not isinstance(key, X25519PublicKey):
        raise SealError("the QA public key must be an X25519 key")
    return _raw_public(key)


def seal(file_key: bytes, public_pem: bytes) -> bytes:
    """``file_key`` sealed for the holder of the private half of ``public_pem``."""
    from cryptography.hazmat.primitives.asymmetric.x25519 import (
        X25519PrivateKey,
        X25519PublicKey,
    )
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    recipient = load_public_key(public_pem)
    ephemeral = X25519PrivateKey.generate()
    ephemeral_public = _raw_public(ephemeral.public_key())
    shared = ephemeral.exchange(X25519PublicKey.from_public_bytes(recipient))
    nonce = os.urandom(12)
    sealed = AESGCM(_derive(shared, ephemeral_public, recipient)).encrypt(nonce, file_key, None)
    return ephemeral_public + nonce + sealed


def unseal(sealed: bytes, private_pem: bytes) -> bytes:
    """The file key in ``sealed``; raises :class:`SealError` when this key cannot open it."""
    from cryptography.exceptions import InvalidTag
    from cryptography.hazmat.primitives.asymmetric.x25519 import (
        X25519PrivateKey,
        X25519PublicKey,
    )
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM
    from cryptography.hazmat.primitives.serialization import load_pem_private_key

    try:
        private = load_pem_private_key(private_pem, password=None)
    except (ValueError, TypeError):
        raise SealError("not a PEM private key (without a passphrase)") from None
    if not isinstance(private, X25519PrivateKey) or len(sealed) != SEALED_BYTES:
        raise SealError("this key cannot open the recording's sealed key")
    ephemeral, nonce, body = sealed[:32], sealed[32:44], sealed[44:]
    shared = private.exchange(X25519PublicKey.from_public_bytes(ephemeral))
    key = _derive(shared, ephemeral, _raw_public(private.public_key()))
    try:
        return AESGCM(key).decrypt(nonce, body, None)
    except InvalidTag:
        raise SealError("this key cannot open the recording's sealed key") from None


def new_key_pair(private_path: Path, public_path: Path) -> None:
    """Make a QA key pair: the private key 0600 at ``private_path``, the public beside."""
    from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
    from cryptography.hazmat.primitives.serialization import (
        Encoding,
        NoEncryption,
        PrivateFormat,
        PublicFormat,
    )

    private = X25519PrivateKey.generate()
    pem = private.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption())
    fd = os.open(private_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(pem)
    public_path.write_bytes(
        private.public_key().public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)
    )
