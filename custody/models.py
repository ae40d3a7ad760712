"""SQL tables of custodial keys and their history.

Invariants:
- A merchant has at most one current key: ``current_for`` holds the merchant id exactly while the
  key is current and is unique (NULLs do not collide on either backend), so two rotations racing
  cannot both leave a current key.
- A key's ciphertexts open only in their own row: the AES-GCM associated data binds the private
  key's ciphertext to the key id, merchant and address, and the wrapped data key to the key id,
  merchant and master-key fingerprint, so swapping columns or rows between keys or merchants
  fails authentication instead of signing for the wrong merchant.
- Retired keys are kept (never deleted): the MSC still at their address must be moved.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, Index, LargeBinary, String, Text, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from common.sql.base import Base
from common.sql.helpers import BigId, UtcDateTime


class CustodyKeyStatus(StrEnum):
    """Where a custodial key is in its life."""

    CURRENT = "current"
    """The merchant's address: payments settle to it and redemptions are signed with it."""
    RETIRED = "retired"
    """Replaced by a rotation; kept to sign the moves of what its address still holds."""


class CustodyKeyEvent(StrEnum):
    """What happened to a custodial key (the history rows' ``kind``)."""

    CREATED = "created"
    RETIRED = "retired"
    REWRAPPED = "rewrapped"
    SIGNED = "signed"


class CustodyKey(Base):
    """One platform-held secp256k1 key of a merchant, stored only encrypted (envelope encryption)."""

    __tablename__ = "custody_keys"
    __table_args__ = (Index("ix_custody_keys_merchant_id", "merchant_id"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    merchant_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("merchants.id"), nullable=False)
    address: Mapped[str] = mapped_column(
        String(42), nullable=False, unique=True, doc="EIP-55 address of the key (public)."
    )
    status: Mapped[str] = mapped_column(String(16), nullable=False)
    current_for: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, nullable=True, unique=True, doc="The merchant id while this key is current, else NULL."
    )
    encrypted_key: Mapped[bytes] = mapped_column(
        LargeBinary, nullable=False, doc="12-byte nonce || AES-256-GCM(data key, private key)."
    )
    wrapped_data_key: Mapped[bytes] = mapped_column(
        LargeBinary, nullable=False, doc="12-byte nonce || AES-256-GCM(master key, data key)."
    )
    master_key_id: Mapped[str] = mapped_column(
        String(32), nullable=False, doc="Fingerprint of the master key that wrapped the data key."
    )
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, nullable=False)
    retired_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)

    def __repr__(self) -> str:
        return (
            f"CustodyKey(id={self.id}, merchant_id={self.merchant_id}, address={self.address}, "
            f"status={self.status})"
        )


class CustodyKeyHistory(Base):
    """One event of a custodial key, written in the same transaction as the change it records."""

    __tablename__ = "custody_key_history"
    __table_args__ = (Index("ix_custody_key_history_key_id", "key_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    key_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("custody_keys.id"), nullable=False)
    kind: Mapped[str] = mapped_column(String(16), nullable=False)
    detail: Mapped[str] = mapped_column(
        Text, nullable=False, doc="What was signed (its digest) or why; never key material."
    )
    at: Mapped[datetime] = mapped_column(UtcDateTime, nullable=False)
