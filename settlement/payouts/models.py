"""SQL tables of payouts and their status history."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from common.sql.base import Base
from common.sql.helpers import BigId, UtcDateTime


class PayoutStatus(StrEnum):
    """Where a redemption payout is."""

    REQUESTED = "requested"
    """The merchant asked to redeem; MSC is burned (or being burned); no bank transfer yet."""
    PROCESSING = "processing"
    """The bank transfer was sent; waiting for the bank's answer."""
    PAID = "paid"
    """The bank confirmed the transfer; terminal."""
    FAILED = "failed"
    """The bank rejected the transfer; the Rupiah is still owed and must be reversed."""
    REVERSED = "reversed"
    """A failed payout was undone: MSC re-issued to the merchant; terminal."""


class Payout(Base):
    """A merchant's request to turn MSC into Rupiah in their bank account."""

    __tablename__ = "payouts"
    __table_args__ = (
        UniqueConstraint("idempotency_key"),
        Index("ix_payouts_merchant_id_created_at", "merchant_id", "created_at"),
        Index("ix_payouts_status", "status"),
        CheckConstraint("amount > 0 AND fee >= 0 AND fee < amount", name="amounts_valid"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    idempotency_key: Mapped[str] = mapped_column(
        String(200), nullable=False, doc="The client's key: one payout per request, however often sent."
    )
    merchant_id: Mapped[str] = mapped_column(String(128), nullable=False)
    amount: Mapped[int] = mapped_column(BigInteger, nullable=False, doc="Sen of MSC burned (gross).")
    fee: Mapped[int] = mapped_column(BigInteger, nullable=False, doc="Sen kept as redemption fee.")
    bank_account: Mapped[str] = mapped_column(String(200), nullable=False, doc="Destination account ref.")
    bank_reference: Mapped[str | None] = mapped_column(String(200), nullable=True, doc="Bank's transfer id.")
    status: Mapped[str] = mapped_column(String(32), nullable=False)
    failure_reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, nullable=False)

    @property
    def net_amount(self) -> int:
        """Sen transferred to the bank account: ``amount - fee``."""
        return self.amount - self.fee


class PayoutStatusChange(Base):
    """One successful status move of a payout, written in the same transaction as the move."""

    __tablename__ = "payout_status_history"
    __table_args__ = (Index("ix_payout_status_history_payout_id", "payout_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    payout_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("payouts.id"), nullable=False)
    from_status: Mapped[str] = mapped_column(String(32), nullable=False)
    to_status: Mapped[str] = mapped_column(String(32), nullable=False)
    reason: Mapped[str] = mapped_column(Text, nullable=False)
    at: Mapped[datetime] = mapped_column(UtcDateTime, nullable=False)
