"""SQL table of the escrow pay-backs: one row per ``customer_refunds_owed`` entry.

Every irreversible step is preceded by a committed state that says what may have happened: the
Pi platform payment's id is stored as soon as it exists (a lost answer is adopted through
``ongoing_payment_found`` by the ``payback_id`` in its metadata), the signed Pi envelope and its
txid before it is submitted, the signed burn transaction before it is sent.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from common.sql.base import Base
from common.sql.helpers import UtcDateTime


class PaybackStatus(StrEnum):
    """Where a pay-back is; each state is committed before the next side effect."""

    OWED = "owed"
    """Recorded from its ledger entry; nothing exists on Pi or on the chain for it."""
    PI_CREATED = "pi_created"
    """The app-to-user payment exists on the Pi platform (``pi_payment_id``); nothing signed yet."""
    PI_SUBMITTED = "pi_submitted"
    """The signed envelope and its txid are recorded; it may be on the ledger. Holds the wallet slot."""
    PI_PAID = "pi_paid"
    """The Pi is on the ledger and completed on the Pi platform (booked); the MSC is not burned."""
    BURN_WRITTEN = "burn_written"
    """The signed burn is recorded; it may be mined."""
    COMPLETED = "completed"
    """The burn is mined and booked: ``customer_refunds_owed`` is cleared for this entry; terminal."""
    FAILED = "failed"
    """Stopped for an operator (``error_reason``; ``failed_from`` says where); see ``retry``."""


class Payback(Base):
    """Pi owed (and paid) to a customer for MSC the escrow paid back to the platform."""

    __tablename__ = "paybacks"
    __table_args__ = (
        UniqueConstraint("source_key"),
        UniqueConstraint("pi_payment_id"),
        UniqueConstraint("txid"),
        UniqueConstraint("burn_tx_hash"),
        Index("ix_paybacks_status", "status"),
        Index("ix_paybacks_payment_id", "payment_id"),
        CheckConstraint("msc_amount > 0", name="msc_amount_positive"),
        CheckConstraint("pi_amount >= 0", name="pi_amount_not_negative"),
        CheckConstraint("fee_pi >= 0 AND fee_pi <= pi_amount", name="fee_pi_within_pi_amount"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    source_key: Mapped[str] = mapped_column(
        String(200),
        nullable=False,
        doc="Idempotency key of the customer_refunds_owed entry paid back (escrow:<tx>:<log>): one each.",
    )
    payment_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("payments.id"), nullable=False, doc="The customer's payment."
    )
    payer: Mapped[str] = mapped_column(
        String(42), nullable=False, doc="EIP-55 settlement address the escrow paid the MSC back to."
    )
    msc_amount: Mapped[int] = mapped_column(BigInteger, nullable=False, doc="Sen of MSC paid back (burned).")
    pi_amount: Mapped[int] = mapped_column(
        BigInteger,
        nullable=False,
        doc="Pi minor units (10^-7 Pi) owed to the customer (rule: paybacks.share).",
    )
    fee_pi: Mapped[int] = mapped_column(
        BigInteger, nullable=False, doc="Of ``pi_amount``, the minor units that return the quote's fee."
    )
    user_uid: Mapped[str | None] = mapped_column(
        String(128), nullable=True, doc="The Pi user paid back (from Pi's record of the payment)."
    )
    status: Mapped[str] = mapped_column(String(16), nullable=False)
    pi_payment_id: Mapped[str | None] = mapped_column(
        String(128), nullable=True, doc="The app-to-user payment on the Pi platform (also the tx memo)."
    )
    to_address: Mapped[str | None] = mapped_column(String(64), nullable=True)
    txid: Mapped[str | None] = mapped_column(
        String(128), nullable=True, doc="Hash of the signed Pi envelope, recorded before it is submitted."
    )
    envelope_xdr: Mapped[str | None] = mapped_column(
        Text, nullable=True, doc="The signed Pi envelope; resubmitted unchanged until its time bounds pass."
    )
    max_time: Mapped[int | None] = mapped_column(
        BigInteger, nullable=True, doc="Unix time after which the envelope can never be included."
    )
    burn_tx_hash: Mapped[str | None] = mapped_column(
        String(66), nullable=True, doc="The signed burn's hash, recorded before it is sent."
    )
    burn_raw_tx: Mapped[str | None] = mapped_column(
        Text, nullable=True, doc="The signed burn; resent unchanged after a crash."
    )
    error_reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    failed_from: Mapped[str | None] = mapped_column(
        String(16), nullable=True, doc="The status a failed pay-back stopped in."
    )
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, nullable=False)
