"""SQL tables of redemptions: the intent written ahead of the relay, and the on-chain side of a payout.

A :class:`RedemptionIntent` is committed before the merchant's authorization is relayed (the
write-ahead record): a process that dies after the relay leaves an intent that the settlement
workers finish from the chain (``authorizationState``, the relay's receipt), so MSC never moves
without a record. A :class:`Redemption` row exists exactly when the merchant's MSC reached the
redeeming account (the ``receiveWithAuthorization`` relayed), written in the same transaction as
its payout.
The burn and, for a reversed payout, the re-issue are each written ahead as a signed raw
transaction before it is broadcast, so a restart rebroadcasts that same transaction (same hash,
same nonce) instead of signing a second one: a redemption burns once and re-issues once.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
    Uuid,
)
from sqlalchemy.orm import Mapped, mapped_column

from common.sql.base import Base
from common.sql.helpers import BigId
from settlement.ledger.sql import UtcDateTime

#: Largest value a BIGINT column holds: every integer of a redemption is checked against it
#: (and against uint256) before anything is sent.
INT64_MAX = 2**63 - 1


class RedemptionIntentStatus(StrEnum):
    """Where a redemption request is between its write-ahead record and its payout."""

    PENDING = "pending"
    """Committed before the relay; the relay may or may not have happened (the chain says)."""
    RELAYED = "relayed"
    """The merchant's MSC reached the redeemer (``transfer_tx_hash``); the payout is not written."""
    RECORDED = "recorded"
    """The payout and its redemption row are written (``payout_id``); final."""
    ABANDONED = "abandoned"
    """The relay never happened and never will (refused, expired, nonce used elsewhere); final."""


class RedemptionIntent(Base):
    """A merchant's redemption request, written before its authorization is relayed.

    Invariant: the redeemer's MSC received by relays == the amounts of intents ``relayed`` plus
    the redemptions not yet burned; an intent leaves ``pending`` only by a conditional move.
    """

    __tablename__ = "redemption_intents"
    __table_args__ = (
        UniqueConstraint("merchant_address", "auth_nonce"),
        Index("ix_redemption_intents_status", "status", "updated_at"),
        CheckConstraint("amount > 0", name="amount_positive"),
        CheckConstraint("fee >= 0 AND fee < amount", name="fee_within_amount"),
        CheckConstraint("valid_after >= 0 AND valid_after < valid_before", name="window_ordered"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    idempotency_key: Mapped[str] = mapped_column(
        String(400), nullable=False, unique=True, doc="``merchant_id:key``: the payout's key."
    )
    merchant_id: Mapped[str] = mapped_column(String(128), nullable=False)
    merchant_address: Mapped[str] = mapped_column(String(42), nullable=False, doc="EIP-55; signed it.")
    redeemer: Mapped[str] = mapped_column(String(42), nullable=False, doc="Receives the MSC.")
    amount: Mapped[int] = mapped_column(BigInteger, nullable=False, doc="Sen of MSC redeemed.")
    fee: Mapped[int] = mapped_column(BigInteger, nullable=False, doc="Sen kept as redemption fee.")
    bank_account: Mapped[str] = mapped_column(String(200), nullable=False)
    valid_after: Mapped[int] = mapped_column(BigInteger, nullable=False, doc="Unix time (checked int64).")
    valid_before: Mapped[int] = mapped_column(BigInteger, nullable=False, doc="Unix time (checked int64).")
    auth_nonce: Mapped[str] = mapped_column(String(66), nullable=False, doc="0x-hex bytes32.")
    signature: Mapped[str] = mapped_column(String(132), nullable=False, doc="0x-hex r || s || v.")
    status: Mapped[str] = mapped_column(String(16), nullable=False)
    transfer_tx_hash: Mapped[str | None] = mapped_column(String(66), nullable=True)
    payout_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("payouts.id"), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, nullable=False)


class RedemptionIntentChange(Base):
    """One status move of a redemption intent, and why."""

    __tablename__ = "redemption_intent_history"
    __table_args__ = (Index("ix_redemption_intent_history_intent_id", "intent_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    intent_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("redemption_intents.id"), nullable=False)
    from_status: Mapped[str] = mapped_column(String(16), nullable=False)
    to_status: Mapped[str] = mapped_column(String(16), nullable=False)
    reason: Mapped[str] = mapped_column(Text, nullable=False)
    at: Mapped[datetime] = mapped_column(UtcDateTime, nullable=False)


class Redemption(Base):
    """The merchant's signed authorization, its relay, and the burn (and re-issue) of its MSC."""

    __tablename__ = "redemptions"
    __table_args__ = (UniqueConstraint("merchant_address", "auth_nonce"),)

    payout_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("payouts.id"), primary_key=True)
    merchant_address: Mapped[str] = mapped_column(String(42), nullable=False, doc="EIP-55; signed it.")
    redeemer: Mapped[str] = mapped_column(String(42), nullable=False, doc="Received the MSC and burns it.")
    auth_nonce: Mapped[str] = mapped_column(
        String(66), nullable=False, doc="The EIP-3009 nonce (0x-hex bytes32): one authorization, one payout."
    )
    valid_before: Mapped[int] = mapped_column(
        BigInteger, nullable=False, doc="Unix time; checked against the horizon (fits int64)."
    )
    transfer_tx_hash: Mapped[str] = mapped_column(String(66), nullable=False)
    burn_tx_hash: Mapped[str | None] = mapped_column(String(66), nullable=True)
    burn_raw_tx: Mapped[str | None] = mapped_column(Text, nullable=True, doc="Written before broadcast.")
    burned_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    reissue_tx_hash: Mapped[str | None] = mapped_column(String(66), nullable=True)
    reissue_raw_tx: Mapped[str | None] = mapped_column(Text, nullable=True, doc="Written before broadcast.")
    reissued_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, nullable=False)
