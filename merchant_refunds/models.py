"""SQL tables of merchants' refunds of their customers' payments, and each refund's history.

A refund is recorded (committed) before anything is signed or sent and moves through
:class:`RefundState` one committed step at a time, so a process killed at any point leaves a row
that says how far it got; :meth:`merchant_refunds.service.MerchantRefundService.resume` finishes
it from there without doing anything twice.

Invariants:
- One form submission is one refund: ``(merchant_id, idempotency_key)`` is unique.
- At most one refund of a payment is under way: ``open_for`` holds the payment id until the refund
  ends (``confirmed`` or ``failed``) and is unique (NULLs do not collide on either backend), so the
  refundable amount read from the chain is never promised twice.
- The signed transaction is stored before it is broadcast; it is replaced only once the chain
  shows it can never be mined (its nonce went to another transaction).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from common.sql.base import Base
from common.sql.helpers import BigId, UtcDateTime


class RefundState(StrEnum):
    """How far a refund got (write-ahead: each state is committed before the next step)."""

    REQUESTED = "requested"
    """Asked for and checked against the chain; nothing signed or sent yet."""
    SIGNED = "signed"
    """The merchant's authorization (while held) and the signed transaction are stored; it may or
    may not have reached the node."""
    SENT = "sent"
    """Mined with a successful receipt in ``block_number``; not yet at the confirmation depth."""
    CONFIRMED = "confirmed"
    """Its block is at the confirmation depth: the payer has the MSC back (final)."""
    FAILED = "failed"
    """Refused by the chain before or when it was sent (see ``failure``); nothing moved (final)."""


OPEN_STATES = (RefundState.REQUESTED, RefundState.SIGNED, RefundState.SENT)


class RefundRoute(StrEnum):
    """Where the refunded MSC comes from."""

    ESCROW = "escrow"
    """The payment is still held: the merchant's signed ``refundWithAuthorization``, relayed."""
    GUARANTEE = "guarantee"
    """The payment was released: the operator's ``coverRefund`` from the guarantee fund (the
    merchant's debt to the fund is recorded on-chain as the payment's ``covered``)."""


class MerchantRefund(Base):
    """One refund, in full or in part, of a customer's payment, asked for by its merchant."""

    __tablename__ = "merchant_refunds"
    __table_args__ = (
        UniqueConstraint("merchant_id", "idempotency_key"),
        UniqueConstraint("open_for"),
        Index("ix_merchant_refunds_payment_id", "payment_id"),
        Index("ix_merchant_refunds_state", "state"),
        CheckConstraint("amount > 0", name="amount_positive"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    merchant_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("merchants.id"), nullable=False)
    payment_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("payments.id"), nullable=False)
    idempotency_key: Mapped[str] = mapped_column(
        String(128), nullable=False, doc="The form submission's (or API call's) key: one refund per key."
    )
    open_for: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, nullable=True, doc="The payment id while this refund is under way, else NULL."
    )
    route: Mapped[str] = mapped_column(String(16), nullable=False, doc="A :class:`RefundRoute`.")
    amount: Mapped[int] = mapped_column(BigInteger, nullable=False, doc="Sen (MSC units) refunded.")
    reason: Mapped[str] = mapped_column(Text, nullable=False, doc="The merchant's reason, cleaned text.")
    requested_by_user_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("merchant_users.id"), nullable=True, doc="The portal user who asked."
    )
    requested_by_api_key_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, nullable=True, doc="The merchant API key that asked (API merchants)."
    )
    state: Mapped[str] = mapped_column(String(16), nullable=False, doc="A :class:`RefundState`.")
    signer: Mapped[str | None] = mapped_column(
        String(42), nullable=True, doc="The escrow merchant whose RefundAuthorization this is (escrow route)."
    )
    auth_nonce: Mapped[str | None] = mapped_column(String(66), nullable=True, doc="0x-hex bytes32.")
    valid_before: Mapped[int | None] = mapped_column(BigInteger, nullable=True, doc="Unix seconds.")
    signature: Mapped[str | None] = mapped_column(
        String(1024), nullable=True, doc="0x-hex signature (65 bytes for a key; ERC-1271 wallets vary)."
    )
    sender: Mapped[str | None] = mapped_column(
        String(42), nullable=True, doc="The platform key that sends the transaction (relayer or operator)."
    )
    tx_hash: Mapped[str | None] = mapped_column(String(66), nullable=True)
    raw_tx: Mapped[str | None] = mapped_column(
        Text, nullable=True, doc="The signed transaction, committed before it is broadcast."
    )
    block_number: Mapped[int | None] = mapped_column(
        BigInteger,
        nullable=True,
        doc="The head when the transaction was signed (the earliest block it can be in), then its block.",
    )
    failure: Mapped[str | None] = mapped_column(Text, nullable=True, doc="Why the chain refused it.")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, nullable=False)


class MerchantRefundChange(Base):
    """One state move of a refund, written in the same transaction as the move."""

    __tablename__ = "merchant_refund_history"
    __table_args__ = (Index("ix_merchant_refund_history_refund_id", "refund_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    refund_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("merchant_refunds.id"), nullable=False)
    from_state: Mapped[str | None] = mapped_column(String(16), nullable=True)
    to_state: Mapped[str] = mapped_column(String(16), nullable=False)
    detail: Mapped[str] = mapped_column(Text, nullable=False)
    at: Mapped[datetime] = mapped_column(UtcDateTime, nullable=False)
