"""SQL tables of the Pi flow: app-to-user refunds and the stored Horizon stream cursor.

A refund's ``txid`` and signed ``envelope_xdr`` are written (and committed) before the envelope
is submitted, so a crash at any point leaves a record that says exactly which transaction may be
on the ledger. ``wallet_slot`` holds the app wallet's address while a signed envelope is in
flight; it is unique, so the database itself allows one payout in flight per wallet (the
envelopes of two concurrent payouts would carry the same sequence number and one would fail).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from common.sql.base import Base
from common.sql.helpers import UtcDateTime


class RefundStatus(StrEnum):
    """Where an app-to-user Pi refund is."""

    REQUESTED = "requested"
    """Recorded; no Pi platform payment exists for it yet."""
    CREATED = "created"
    """The app-to-user payment exists on the Pi platform (``pi_payment_id``); nothing signed yet."""
    SUBMITTED = "submitted"
    """The signed envelope and its txid are recorded; it may be on the ledger. Holds the wallet slot."""
    COMPLETED = "completed"
    """The Pi is on the ledger and the payment is completed on the Pi platform; terminal."""
    FAILED = "failed"
    """The network rejected the payout (see ``error_reason``); needs an operator; terminal."""


class PiRefund(Base):
    """Pi returned to a customer for a payment that was never credited."""

    __tablename__ = "pi_refunds"
    __table_args__ = (
        UniqueConstraint("payment_id"),
        UniqueConstraint("pi_payment_id"),
        UniqueConstraint("txid"),
        UniqueConstraint("wallet_slot"),
        Index("ix_pi_refunds_status", "status"),
        CheckConstraint("amount > 0", name="amount_positive"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    payment_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("payments.id"), nullable=False, doc="The payment refunded (one refund each)."
    )
    amount: Mapped[int] = mapped_column(
        BigInteger, nullable=False, doc="Pi minor units (10^-7 Pi) returned: what actually arrived."
    )
    user_uid: Mapped[str] = mapped_column(String(128), nullable=False, doc="The Pi user paid back.")
    reason: Mapped[str] = mapped_column(Text, nullable=False)
    status: Mapped[str] = mapped_column(String(16), nullable=False)
    pi_payment_id: Mapped[str | None] = mapped_column(
        String(128), nullable=True, doc="The app-to-user payment on the Pi platform (also the tx memo)."
    )
    to_address: Mapped[str | None] = mapped_column(String(64), nullable=True)
    txid: Mapped[str | None] = mapped_column(
        String(128), nullable=True, doc="Hash of the signed envelope, recorded before it is submitted."
    )
    envelope_xdr: Mapped[str | None] = mapped_column(
        Text, nullable=True, doc="The signed envelope; resubmitted unchanged until its time bounds pass."
    )
    max_time: Mapped[int | None] = mapped_column(
        BigInteger, nullable=True, doc="Unix time after which the envelope can never be included."
    )
    wallet_slot: Mapped[str | None] = mapped_column(
        String(64), nullable=True, doc="The app wallet while this refund holds its one in-flight slot."
    )
    error_reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, nullable=False)


class PiStreamCursor(Base):
    """Where the follower of an account's Horizon payment stream stopped (a paging token)."""

    __tablename__ = "pi_stream_cursors"

    account_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    cursor: Mapped[str] = mapped_column(
        String(64), nullable=False, doc="Paging token of the last payment operation fully handled."
    )
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, nullable=False)
