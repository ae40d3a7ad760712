"""SQL tables of Pi payments and their status history.

Statuses follow SEP-24's transaction statuses, mapped onto a Pi user-to-app payment:

==============================  ==============================================================
SEP-24 status                   our flow
==============================  ==============================================================
incomplete                      Pi payment created by the customer's app, quote attached
pending_user_transfer_start     server approved it on the Pi platform; waiting for the Pi tx
pending_anchor                  txid received and recorded; verifying on Horizon, completing
pending_stellar                 verified and completed on Pi; MSC mint to escrow in flight
completed                       MSC minted into the merchant escrow, keyed by the payment id
expired / refunded / error      quote or approval lapsed / Pi returned / needs an operator
==============================  ==============================================================
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
from common.sql.helpers import BigId, UtcDateTime


class PaymentStatus(StrEnum):
    """Where a Pi payment is in its settlement (SEP-24 names)."""

    INCOMPLETE = "incomplete"
    """Created on the Pi platform with a firm quote; the server has not approved it yet."""
    PENDING_USER_TRANSFER_START = "pending_user_transfer_start"
    """Approved on the Pi platform; waiting for the customer's Pi blockchain transaction."""
    PENDING_ANCHOR = "pending_anchor"
    """The txid is recorded (unique); the platform verifies it on Horizon and completes it on Pi."""
    PENDING_STELLAR = "pending_stellar"
    """Verified and completed on Pi; the MSC mint into escrow is submitted, not yet confirmed."""
    COMPLETED = "completed"
    """MSC minted into the merchant escrow; the payment is settled."""
    EXPIRED = "expired"
    """The quote or the Pi approval lapsed (or the Pi platform cancelled) before any Pi arrived."""
    REFUNDED = "refunded"
    """Pi that arrived was returned to the customer; nothing was minted."""
    ERROR = "error"
    """Something failed that needs an operator (see ``error_reason``); may be retried or refunded."""


class Payment(Base):
    """A customer's Pi payment to a merchant, settled into MSC at its quote."""

    __tablename__ = "payments"
    __table_args__ = (
        UniqueConstraint("pi_payment_id"),
        UniqueConstraint("txid"),
        UniqueConstraint("quote_id"),
        Index("ix_payments_merchant_id_created_at", "merchant_id", "created_at"),
        Index("ix_payments_status", "status"),
        CheckConstraint("pi_amount > 0 AND idr_amount > 0 AND fee_pi >= 0", name="amounts_valid"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    pi_payment_id: Mapped[str] = mapped_column(String(128), nullable=False, doc="The Pi platform's id.")
    merchant_id: Mapped[str] = mapped_column(String(128), nullable=False)
    quote_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("quotes.id"), nullable=False)
    txid: Mapped[str | None] = mapped_column(
        String(128), nullable=True, doc="Pi blockchain tx hash, recorded (unique) before it is verified."
    )
    pi_amount: Mapped[int] = mapped_column(
        BigInteger,
        nullable=False,
        doc="Pi minor units (10^-7 Pi) the customer pays: the quote's sell_amount.",
    )
    fee_pi: Mapped[int] = mapped_column(
        BigInteger, nullable=False, doc="Pi minor units kept as fee: the quote's fee total."
    )
    idr_amount: Mapped[int] = mapped_column(
        BigInteger, nullable=False, doc="Sen (MSC units) minted to escrow: the quote's buy_amount."
    )
    status: Mapped[str] = mapped_column(String(32), nullable=False)
    error_reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    payer_uid: Mapped[str | None] = mapped_column(
        String(128),
        nullable=True,
        doc="The Pi user who paid (Pi's ``user_uid``), stored with the credit; null before it (or 0036).",
    )
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, nullable=False)


class PaymentStatusChange(Base):
    """One successful status move of a payment, written in the same transaction as the move."""

    __tablename__ = "payment_status_history"
    __table_args__ = (Index("ix_payment_status_history_payment_id", "payment_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    payment_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("payments.id"), nullable=False)
    from_status: Mapped[str] = mapped_column(String(32), nullable=False)
    to_status: Mapped[str] = mapped_column(String(32), nullable=False)
    reason: Mapped[str] = mapped_column(Text, nullable=False)
    at: Mapped[datetime] = mapped_column(UtcDateTime, nullable=False)
