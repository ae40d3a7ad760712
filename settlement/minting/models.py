"""SQL tables of minting: the write-ahead record of each mint batch and the escrow holding of
each payment it carries.

A batch is recorded (committed) before anything is sent to the chain, so a process killed at any
later point leaves a record saying which payments were on their way; recovery resolves it from
the chain (``getPayment`` of each id, the depositor's balance) before anything is resent.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import JSON, BigInteger, CheckConstraint, ForeignKey, Index, String, Text, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from common.sql.base import Base
from settlement.ledger.sql import UtcDateTime


class MintBatchState(StrEnum):
    """How far a batch got; informative only: recovery always re-reads the chain."""

    RECORDED = "recorded"
    """Its payments are claimed; nothing was sent for it yet (or a send was interrupted)."""
    MINTED = "minted"
    """The depositor holds enough MSC for the batch (minted now, or left idle by an earlier run)."""
    DEPOSITED = "deposited"
    """Every payment of the batch is held in the escrow on-chain; bookkeeping is pending."""
    COMPLETED = "completed"
    """Statuses moved to completed and the ledger posted; final."""


class MintBatch(Base):
    """One batch of payments minted and deposited together (one mint, one ``depositBatch`` per
    chunk that fits a block)."""

    __tablename__ = "mint_batches"
    __table_args__ = (
        Index("ix_mint_batches_state", "state"),
        CheckConstraint("total_amount > 0", name="total_positive"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    state: Mapped[str] = mapped_column(String(16), nullable=False)
    depositor: Mapped[str] = mapped_column(
        String(42), nullable=False, doc="The address that mints and deposits."
    )
    total_amount: Mapped[int] = mapped_column(BigInteger, nullable=False, doc="Sen of all its payments.")
    minted_amount: Mapped[int] = mapped_column(
        BigInteger,
        nullable=False,
        default=0,
        doc="Sen of its mints that are final (mined at the confirmation depth).",
    )
    mint_tx_hash: Mapped[str | None] = mapped_column(String(66), nullable=True)
    mint_amount: Mapped[int | None] = mapped_column(
        BigInteger, nullable=True, doc="Sen of its written-ahead mint not yet final (None: none)."
    )
    mint_raw_tx: Mapped[str | None] = mapped_column(
        Text, nullable=True, doc="The signed mint, committed before it is broadcast (None: none open)."
    )
    deposit_tx_hashes: Mapped[list[str]] = mapped_column(
        JSON, nullable=False, default=list, doc="The depositBatch transactions, in order."
    )
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, nullable=False)


class EscrowHolding(Base):
    """A payment's MSC in the merchant escrow: what was deposited, and when it was released.

    The primary key is the payment id, so a payment belongs to at most one batch, ever.
    """

    __tablename__ = "escrow_holdings"
    __table_args__ = (
        Index("ix_escrow_holdings_batch_id", "batch_id"),
        Index("ix_escrow_holdings_release", "released_at", "release_after"),
        CheckConstraint("amount > 0", name="amount_positive"),
    )

    payment_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("payments.id"), primary_key=True)
    batch_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("mint_batches.id"), nullable=False)
    escrow_id: Mapped[str] = mapped_column(
        String(66), nullable=False, unique=True, doc="0x-hex bytes32 key (settlement.minting.ids)."
    )
    merchant_id: Mapped[str] = mapped_column(String(128), nullable=False)
    merchant_address: Mapped[str] = mapped_column(String(42), nullable=False, doc="EIP-55, paid on release.")
    amount: Mapped[int] = mapped_column(BigInteger, nullable=False, doc="Sen held: the payment's idr_amount.")
    release_after: Mapped[int | None] = mapped_column(
        BigInteger, nullable=True, doc="Unix time from which anyone may release it (read from the chain)."
    )
    released_at: Mapped[datetime | None] = mapped_column(
        UtcDateTime, nullable=True, doc="When its release was booked in the ledger."
    )
