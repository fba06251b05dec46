"""Keys of a sandbox deployment: encryption at rest and keyed hashes, held in memory only."""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

__all__ = ["Vault"]

_NONCE_BYTES = 12
_PASSWORD_ITERATIONS = 20_000


class Vault:
    """Encrypts what the sandbox must read back (SO credentials, SMS texts, initial PINs) and
    hashes what it only has to recognise (codes, tokens, passwords).

    The keys are derived from one master secret that lives in memory: random by default, or
    given (32 bytes or more) so that a deployment can reopen its SQLite file after a restart.
    The database file therefore holds ciphertexts and keyed hashes, never a secret.
    """

    def __init__(self, master: bytes | None = None) -> None:
        if master is None:
            master = secrets.token_bytes(32)
        if len(master) < 32:
            raise ValueError("the sandbox master secret needs at least 32 bytes")
        self._aead = AESGCM(hmac.digest(master, b"kamusm-sandbox/encryption", "sha256"))
        self._mac_key = hmac.digest(master, b"kamusm-sandbox/mac", "sha256")
        self._key_check = hmac.digest(master, b"kamusm-sandbox/key-check", "sha256")

    def key_check(self) -> bytes:
        """A value that names the master secret without revealing it: a database stores it
        to recognise the secret it was written with."""
        return self._key_check

    def encrypt(self, plaintext: str, *, context: str) -> bytes:
        """AES-GCM under a fresh nonce; ``context`` binds the ciphertext to its row."""
        nonce = os.urandom(_NONCE_BYTES)
        return nonce + self._aead.encrypt(nonce, plaintext.encode(), context.encode())

    def decrypt(self, blob: bytes, *, context: str) -> str:
        nonce, body = blob[:_NONCE_BYTES], blob[_NONCE_BYTES:]
        return self._aead.decrypt(nonce, body, context.encode()).decode()

    def mac(self, value: str, *, purpose: str) -> bytes:
        """A keyed hash (HMAC-SHA256) of ``value`` for lookups and constant-time comparison."""
        return hmac.digest(self._mac_key, f"{purpose}\x00{value}".encode(), "sha256")

    @staticmethod
    def hash_password(password: str) -> bytes:
        """A salted, slow hash of a password or security word (PBKDF2-HMAC-SHA256)."""
        salt = os.urandom(16)
        return salt + hashlib.pbkdf2_hmac("sha256", password.encode(), salt, _PASSWORD_ITERATIONS)

    @staticmethod
    def check_password(password: str, stored: bytes) -> bool:
        salt, expected = stored[:16], stored[16:]
        got = hashlib.pbkdf2_hmac("sha256", password.encode(), salt, _PASSWORD_ITERATIONS)
        return hmac.compare_digest(got, expected)

    def __repr__(self) -> str:
        return "Vault(<keys hidden>)"
