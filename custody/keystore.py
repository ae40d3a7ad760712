"""The key-management interface of custody and its envelope-encryption implementation.

:class:`KeyManager` is all the platform asks of a key store: create a key for a merchant (an id and
an address come back), sign a 32-byte digest or EIP-712 typed data by key id, rotate the
merchant's key. No method returns a private key, so a cloud KMS or an HSM (which never export
keys) can replace :class:`EnvelopeKeyManager` without changing a caller.

:class:`EnvelopeKeyManager` keeps each key in SQL under two layers of AES-256-GCM: a fresh random
data key per merchant key encrypts the private key, and the master key from settings wraps the
data key. The associated data binds each ciphertext to its key id and merchant (see
:mod:`custody.models`). A private key exists in memory only inside :meth:`_open` and the signing
call that uses it; it is never logged, put in an exception, or returned. (Python cannot wipe
``bytes`` from memory; a KMS or HSM implementation removes that residue.)
"""

from __future__ import annotations

import logging
import secrets
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from eth_account import Account
from eth_account.messages import encode_typed_data
from eth_keys import keys as eth_keys
from eth_utils import keccak
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from common.errors import ValidationError
from common.sql.helpers import utcnow
from custody import repository
from custody.errors import CustodyKeyExistsError, CustodyKeyNotFoundError, CustodyKeyUnavailableError
from custody.models import CustodyKey, CustodyKeyEvent, CustodyKeyStatus
from custody.settings import MasterKeyRing

logger = logging.getLogger(__name__)

_NONCE_BYTES = 12
_SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
_AAD_KEY = b"msc-custody/v1/private-key|"
_AAD_WRAP = b"msc-custody/v1/data-key|"


@dataclass(frozen=True)
class KeyRef:
    """A custodial key as callers see it: its id, its merchant and its public address."""

    key_id: uuid.UUID
    merchant_id: uuid.UUID
    address: str
    current: bool


class KeyManager(Protocol):
    """What the platform needs of a key store; no method ever returns a private key."""

    def create_key(self, session: Session, merchant_id: uuid.UUID) -> KeyRef:
        """A new current key for a merchant that has none."""
        ...

    def current_key(self, session: Session, merchant_id: uuid.UUID) -> KeyRef:
        """The merchant's current key."""
        ...

    def keys_of(self, session: Session, merchant_id: uuid.UUID) -> list[KeyRef]:
        """Every key of the merchant, current and retired."""
        ...

    def sign_digest(self, session: Session, key_id: uuid.UUID, digest: bytes, purpose: str) -> bytes:
        """The 65-byte ``r || s || v`` signature of a 32-byte digest (e.g. a transaction hash)."""
        ...

    def sign_typed_data(self, session: Session, key_id: uuid.UUID, typed_data: dict[str, Any]) -> bytes:
        """The 65-byte EIP-712 signature of ``typed_data`` (``v`` is 27 or 28)."""
        ...

    def rotate(self, session: Session, merchant_id: uuid.UUID) -> KeyRef:
        """A new current key for the merchant; the old one is kept, retired, to move its funds."""
        ...


def _ref(key: CustodyKey) -> KeyRef:
    return KeyRef(key.id, key.merchant_id, key.address, key.status == CustodyKeyStatus.CURRENT)


def _key_aad(key_id: uuid.UUID, merchant_id: uuid.UUID, address: str) -> bytes:
    return _AAD_KEY + key_id.bytes + merchant_id.bytes + address.lower().encode()


def _wrap_aad(key_id: uuid.UUID, merchant_id: uuid.UUID, master_key_id: str) -> bytes:
    return _AAD_WRAP + key_id.bytes + merchant_id.bytes + master_key_id.encode()


def _seal(key: bytes, plaintext: bytes, aad: bytes) -> bytes:
    nonce = secrets.token_bytes(_NONCE_BYTES)
    return nonce + AESGCM(key).encrypt(nonce, plaintext, aad)


def _unseal(key: bytes, sealed: bytes, aad: bytes) -> bytes:
    """Raises InvalidTag when the key, the associated data or the ciphertext is wrong."""
    return AESGCM(key).decrypt(sealed[:_NONCE_BYTES], sealed[_NONCE_BYTES:], aad)


def _new_private_key() -> bytes:
    """32 random bytes that are a valid secp256k1 scalar (0 < k < n)."""
    while True:
        candidate = secrets.token_bytes(32)
        if 0 < int.from_bytes(candidate, "big") < _SECP256K1_N:
            return candidate


def _address_of(private_key: bytes) -> str:
    return str(eth_keys.PrivateKey(private_key).public_key.to_checksum_address())


class EnvelopeKeyManager:
    """Keys in SQL under envelope encryption (a data key per key, wrapped by the master key).

    Args:
        master_keys: The current master key and the previous ones still readable.
        clock: Current UTC time (history rows, retirement).
    """

    def __init__(self, master_keys: MasterKeyRing, *, clock: Callable[[], datetime] = utcnow) -> None:
        self._master_keys = master_keys
        self._clock = clock

    def __repr__(self) -> str:
        return f"EnvelopeKeyManager(master_key_id={self._master_keys.current_id!r})"

    # ------------------------------------------------------------------ keys

    def create_key(self, session: Session, merchant_id: uuid.UUID) -> KeyRef:
        """A new current key for ``merchant_id`` (flushed in ``session``; the caller commits).

        Raises:
            CustodyKeyExistsError: the merchant has a current key already.
        """
        if repository.current(session, merchant_id) is not None:
            raise CustodyKeyExistsError(merchant_id)
        return self._insert(session, merchant_id, "a new custodial wallet")

    def current_key(self, session: Session, merchant_id: uuid.UUID) -> KeyRef:
        """The merchant's current key.

        Raises:
            CustodyKeyNotFoundError: the merchant has no custodial key.
        """
        key = repository.current(session, merchant_id)
        if key is None:
            raise CustodyKeyNotFoundError(f"for merchant {merchant_id}", merchant_id=str(merchant_id))
        return _ref(key)

    def keys_of(self, session: Session, merchant_id: uuid.UUID) -> list[KeyRef]:
        """Every key of the merchant, current and retired, oldest first."""
        return [_ref(key) for key in repository.of_merchant(session, merchant_id)]

    def key(self, session: Session, key_id: uuid.UUID) -> KeyRef:
        """The key with this id.

        Raises:
            CustodyKeyNotFoundError: no such key.
        """
        return _ref(self._row(session, key_id))

    def rotate(self, session: Session, merchant_id: uuid.UUID) -> KeyRef:
        """Retires the merchant's current key and creates a new current one.

        The retired key stays signable so the MSC at its address can be moved to the new one.

        Raises:
            CustodyKeyNotFoundError: the merchant has no current key to rotate.
            CustodyKeyExistsError: a concurrent rotation won.
        """
        old = repository.current(session, merchant_id)
        if old is None:
            raise CustodyKeyNotFoundError(f"for merchant {merchant_id}", merchant_id=str(merchant_id))
        now = self._clock()
        if not repository.retire(session, old, now):
            raise CustodyKeyExistsError(merchant_id)
        session.flush()
        new = self._insert(session, merchant_id, f"rotated from {old.id}")
        repository.record(session, old.id, CustodyKeyEvent.RETIRED, f"replaced by {new.key_id}", now)
        logger.info("custody key %s of merchant %s rotated to %s", old.id, merchant_id, new.key_id)
        return new

    def rewrap(self, session: Session, batch: int = 500) -> int:
        """Re-wraps up to ``batch`` data keys from a previous master key to the current one.

        Part of a master-key rotation: only the wrapped data keys change; the private keys'
        ciphertexts stay as they are. Call until it returns 0, check :meth:`unreadable_keys` is
        empty, then drop the old key from ``MSC_CUSTODY_PREVIOUS_MASTER_KEYS``.

        Returns:
            How many keys were re-wrapped.

        Raises:
            CustodyKeyUnavailableError: a row wrapped under a previous key does not authenticate.
        """
        target = self._master_keys.current_id
        previous = [key_id for key_id in self._master_keys.keys if key_id != target]
        rows = repository.wrapped_under(session, previous, batch) if previous else []
        now = self._clock()
        for row in rows:
            data_key = self._unwrap(row)
            row.wrapped_data_key = _seal(
                self._master_keys.current, data_key, _wrap_aad(row.id, row.merchant_id, target)
            )
            before = row.master_key_id
            row.master_key_id = target
            repository.record(session, row.id, CustodyKeyEvent.REWRAPPED, f"from {before} to {target}", now)
        session.flush()
        if rows:
            logger.info("custody: re-wrapped %d data keys under master key %s", len(rows), target)
        return len(rows)

    def unreadable_keys(self, session: Session) -> list[KeyRef]:
        """Keys wrapped under a master key this manager does not have (a lost or unconfigured key)."""
        return [_ref(row) for row in repository.not_wrapped_under(session, list(self._master_keys.keys))]

    # ------------------------------------------------------------------ signing

    def sign_digest(self, session: Session, key_id: uuid.UUID, digest: bytes, purpose: str) -> bytes:
        """The ``r || s || v`` signature (``v`` 27/28) of a 32-byte digest, recorded in the history.

        Raises:
            ValidationError: the digest is not 32 bytes.
            CustodyKeyNotFoundError, CustodyKeyUnavailableError: the key cannot be used.
        """
        if len(digest) != 32:
            raise ValidationError(f"a digest to sign is 32 bytes, got {len(digest)}")
        row = self._row(session, key_id)
        signed = Account.unsafe_sign_hash(digest, self._open(row))
        repository.record(
            session, row.id, CustodyKeyEvent.SIGNED, f"{purpose}: 0x{digest.hex()}", self._clock()
        )
        return bytes(signed.signature)

    def sign_typed_data(self, session: Session, key_id: uuid.UUID, typed_data: dict[str, Any]) -> bytes:
        """The EIP-712 signature of ``typed_data`` by the key, recorded with the message's digest.

        Raises:
            ValidationError: ``typed_data`` is not valid EIP-712.
            CustodyKeyNotFoundError, CustodyKeyUnavailableError: the key cannot be used.
        """
        try:
            message = encode_typed_data(full_message=typed_data)
        except Exception as exc:  # eth_account raises assorted errors on malformed typed data
            raise ValidationError(f"not valid EIP-712 typed data: {type(exc).__name__}") from None
        digest = keccak(b"\x19" + message.version + message.header + message.body)
        purpose = f"EIP-712 {typed_data.get('primaryType', '?')}"
        return self.sign_digest(session, key_id, digest, purpose)

    # ------------------------------------------------------------------ internals

    def _row(self, session: Session, key_id: uuid.UUID) -> CustodyKey:
        row = repository.get(session, key_id)
        if row is None:
            raise CustodyKeyNotFoundError(str(key_id), key_id=str(key_id))
        return row

    def _insert(self, session: Session, merchant_id: uuid.UUID, why: str) -> KeyRef:
        key_id = uuid.uuid4()
        private_key = _new_private_key()
        address = _address_of(private_key)
        data_key = AESGCM.generate_key(bit_length=256)
        master_id = self._master_keys.current_id
        row = CustodyKey(
            id=key_id,
            merchant_id=merchant_id,
            address=address,
            status=CustodyKeyStatus.CURRENT,
            current_for=merchant_id,
            encrypted_key=_seal(data_key, private_key, _key_aad(key_id, merchant_id, address)),
            wrapped_data_key=_seal(
                self._master_keys.current, data_key, _wrap_aad(key_id, merchant_id, master_id)
            ),
            master_key_id=master_id,
            created_at=self._clock(),
        )
        try:
            with session.begin_nested():  # a concurrent creation for the merchant loses here, cleanly
                session.add(row)
                session.flush()
        except IntegrityError:
            raise CustodyKeyExistsError(merchant_id) from None
        repository.record(session, key_id, CustodyKeyEvent.CREATED, why, row.created_at)
        logger.info("custody key %s created for merchant %s at %s", key_id, merchant_id, address)
        return _ref(row)

    def _unwrap(self, row: CustodyKey) -> bytes:
        """The row's data key.

        Raises:
            CustodyKeyUnavailableError: its master key is not configured or the row was altered.
        """
        master = self._master_keys.keys.get(row.master_key_id)
        if master is None:
            raise CustodyKeyUnavailableError(row.id, f"master key {row.master_key_id} is not configured")
        try:
            return _unseal(
                master, row.wrapped_data_key, _wrap_aad(row.id, row.merchant_id, row.master_key_id)
            )
        except (InvalidTag, ValueError):
            raise CustodyKeyUnavailableError(row.id, "its wrapped data key does not authenticate") from None

    def _open(self, row: CustodyKey) -> bytes:
        """The row's private key, for one signature (never stored, logged or returned further).

        Raises:
            CustodyKeyUnavailableError: the row does not authenticate or is not its address's key.
        """
        data_key = self._unwrap(row)
        try:
            private_key = _unseal(data_key, row.encrypted_key, _key_aad(row.id, row.merchant_id, row.address))
        except (InvalidTag, ValueError):
            raise CustodyKeyUnavailableError(row.id, "its encrypted key does not authenticate") from None
        if _address_of(private_key) != row.address:
            raise CustodyKeyUnavailableError(row.id, "the decrypted key is not the key of its address")
        return private_key
