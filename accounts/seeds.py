"""TOTP seeds sealed at rest under a key derived from the custody master key.

A TOTP seed must be readable to check codes, so it cannot be hashed; it is encrypted instead
(AES-256-GCM, associated data = the user's id, so a seed copied onto another user's row does not
open). The key is HKDF-SHA256 of the custody master key (the caller passes the ring of
``custody.settings.CustodySettings.key_ring()``) with its own label: one secret for the
operator to manage (``MSC_CUSTODY_MASTER_KEY``), never the same AES key as the custody data keys.
The stored form names the master key's fingerprint, so a master-key rotation can re-seal seeds
(:meth:`accounts.service.AccountService.reseal_totp_seeds`) while the previous key stays readable.
"""

from __future__ import annotations

import base64
import binascii
import secrets
import uuid
from collections.abc import Mapping
from typing import Protocol

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from accounts.errors import TotpStateError

_VERSION = "v1"
_INFO = b"msc-accounts/v1/totp-seed"
_AAD = b"msc-accounts/v1/totp-seed|"


class KeyRing(Protocol):
    """Master keys by fingerprint and the current one's fingerprint (``custody.settings.MasterKeyRing``;
    accounts depends on ``common`` only, so the composition root passes the ring in)."""

    @property
    def current_id(self) -> str: ...

    @property
    def keys(self) -> Mapping[str, bytes]: ...


def _derive(master_key: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_INFO).derive(master_key)


class SeedBox:
    """Seals and opens TOTP seeds with keys derived from a master-key ring."""

    def __init__(self, ring: KeyRing) -> None:
        self._ring = ring
        self._keys = {key_id: _derive(key) for key_id, key in ring.keys.items()}

    def __repr__(self) -> str:
        return f"SeedBox(master_key_id={self._ring.current_id!r})"

    @property
    def current_id(self) -> str:
        """Fingerprint of the master key new seeds are sealed under."""
        return self._ring.current_id

    def seal(self, user_id: uuid.UUID, seed: str) -> str:
        """``v1:<master key id>:<base64 nonce || ciphertext>`` of ``seed`` for ``user_id``."""
        nonce = secrets.token_bytes(12)
        sealed = AESGCM(self._keys[self.current_id]).encrypt(nonce, seed.encode(), _AAD + user_id.bytes)
        return f"{_VERSION}:{self.current_id}:{base64.b64encode(nonce + sealed).decode()}"

    @property
    def previous_ids(self) -> list[str]:
        """Fingerprints of the previous master keys still readable."""
        return [key_id for key_id in self._keys if key_id != self.current_id]

    @staticmethod
    def key_id_of(stored: str) -> str:
        """The master-key fingerprint a stored seed is sealed under."""
        return stored.split(":")[1] if stored.count(":") == 2 else ""

    def open(self, user_id: uuid.UUID, stored: str) -> str:
        """The seed of ``user_id``.

        Raises:
            TotpStateError: sealed under a master key not configured, or altered (never says more).
        """
        version, key_id, body = [*stored.split(":"), "", "", ""][:3]
        key = self._keys.get(key_id)
        if version != _VERSION or key is None:
            raise TotpStateError(
                f"the stored seed is sealed under master key {key_id!r}, which is not configured"
            )
        try:
            raw = base64.b64decode(body, validate=True)
            return AESGCM(key).decrypt(raw[:12], raw[12:], _AAD + user_id.bytes).decode()
        except (binascii.Error, ValueError, InvalidTag):
            raise TotpStateError("the stored seed does not authenticate") from None
