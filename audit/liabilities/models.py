"""SQL tables of proof of liabilities: one snapshot per period and one leaf per merchant.

A snapshot is written (with all its leaves) before its transaction is signed, and the signed
transaction before it is broadcast (write-ahead, :mod:`audit.liabilities.publish`), so a crash at
any point resumes without a second publish. Salts are not stored: they are re-derived from the
server secret (:func:`audit.liabilities.tree.derive_salt`). ``migrations/env.py`` lists this module.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from common.sql.base import Base
from common.sql.helpers import BigId, UtcDateTime


class SnapshotStatus(StrEnum):
    """Where a period's publication stands."""

    WRITTEN = "written"
    """Tree stored; no transaction signed yet."""
    SIGNED = "signed"
    """Transaction signed and stored (``raw_tx``); it may or may not have been broadcast."""
    CONFIRMED = "confirmed"
    """The publish transaction is mined and the chain holds this root for the period."""


class LiabilitySnapshot(Base):
    """One period's tree: root, total, the cut of the books and the on-chain publication."""

    __tablename__ = "liability_snapshots"
    __table_args__ = (
        UniqueConstraint("period"),
        CheckConstraint("total >= 0", name="total_not_negative"),
        CheckConstraint("status IN ('written', 'signed', 'confirmed')", name="status_known"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    period: Mapped[str] = mapped_column(String(7), nullable=False, doc="YYYY-MM.")
    root: Mapped[str] = mapped_column(String(66), nullable=False, doc="0x-hex sha256 root.")
    total: Mapped[int] = mapped_column(BigInteger, nullable=False, doc="Sen owed in all (root's sum).")
    block_number: Mapped[int] = mapped_column(BigInteger, nullable=False, doc="Chain block the cut is as of.")
    ledger_entry_id: Mapped[int] = mapped_column(
        BigInteger, nullable=False, doc="Books cut: every ledger entry with id <= this one counts."
    )
    leaf_count: Mapped[int] = mapped_column(Integer, nullable=False)
    status: Mapped[str] = mapped_column(String(16), nullable=False)
    tx_hash: Mapped[str | None] = mapped_column(String(66), nullable=True)
    raw_tx: Mapped[str | None] = mapped_column(Text, nullable=True, doc="Signed publish, kept until mined.")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, nullable=False)


class LiabilityLeaf(Base):
    """One merchant's amounts in one period's tree, with its leaf commitment."""

    __tablename__ = "liability_leaves"
    __table_args__ = (
        CheckConstraint(
            "credited_not_minted >= 0 AND payouts_unpaid >= 0 AND refunds_owed >= 0",
            name="amounts_not_negative",
        ),
    )

    snapshot_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("liability_snapshots.id"), primary_key=True
    )
    merchant_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    credited_not_minted: Mapped[int] = mapped_column(BigInteger, nullable=False, doc="Sen.")
    payouts_unpaid: Mapped[int] = mapped_column(BigInteger, nullable=False, doc="Sen.")
    refunds_owed: Mapped[int] = mapped_column(BigInteger, nullable=False, doc="Sen.")
    leaf_sum: Mapped[int] = mapped_column(BigInteger, nullable=False)
    leaf_hash: Mapped[str] = mapped_column(String(66), nullable=False)
