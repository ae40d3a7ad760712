"""SQL tables of the audit: anomaly flags with their review status, scans, reconciliation results.

The explorer reads these tables; the reconciliation runner and the anomaly scanner write them.
``migrations/env.py`` lists this module, so the tables are on the shared metadata.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Float,
    ForeignKey,
    Index,
    String,
    Table,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column

from common.sql.base import Base
from common.sql.helpers import BigId, UtcDateTime

FLAG_STATUSES: tuple[str, ...] = ("open", "confirmed", "dismissed")
"""The values of ``anomaly_flags.status`` (see :class:`audit.anomaly.flags.FlagStatus`)."""


class AnomalyFlag(Base):
    """One finding of the anomaly scanner (a rule or the model), with the auditor's review.

    The id is the :attr:`audit.anomaly.flags.Flag.flag_id` (kind + hash of the flagged
    transactions), so scanning the same activity twice stores one row, not two.
    """

    __tablename__ = "anomaly_flags"
    __table_args__ = (
        CheckConstraint("status IN ('open', 'confirmed', 'dismissed')", name="status_known"),
        Index("ix_anomaly_flags_status_created_at", "status", "created_at"),
    )

    id: Mapped[str] = mapped_column(String(80), primary_key=True, doc="The Flag's flag_id.")
    kind: Mapped[str] = mapped_column(
        String(32), nullable=False, doc="wash_trade, cycle, ..., isolation_forest."
    )
    source: Mapped[str] = mapped_column(
        String(64), nullable=False, doc="The rule's name, or 'model:<version>' for model flags."
    )
    score: Mapped[float] = mapped_column(Float, nullable=False, doc="Severity in [0, 1]; a score, not money.")
    reason: Mapped[str] = mapped_column(Text, nullable=False, default="", doc="One sentence for auditors.")
    tx_hashes: Mapped[list[str]] = mapped_column(JSON, nullable=False, doc="The flagged transactions.")
    accounts: Mapped[list[str]] = mapped_column(JSON, nullable=False, default=list)
    evidence: Mapped[dict[str, Any]] = mapped_column(
        JSON, nullable=False, doc="Full evidence: context transactions, driving features, block range."
    )
    block_number: Mapped[int | None] = mapped_column(
        BigInteger, nullable=True, doc="Highest block of the flagged transactions (None for off-chain rows)."
    )
    status: Mapped[str] = mapped_column(String(16), nullable=False, default="open")
    note: Mapped[str] = mapped_column(Text, nullable=False, default="", doc="The reviewer's note.")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, nullable=False)
    reviewed_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    reviewed_by: Mapped[str | None] = mapped_column(String(128), nullable=True)


class AnomalyScan(Base):
    """One run of the incremental scanner: the block range it covered.

    The next scan starts after the highest ``to_block`` of a finished scan, so already-scanned
    blocks are never scored twice; a crashed scan (``finished_at`` None) is simply redone.
    """

    __tablename__ = "anomaly_scans"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    from_block: Mapped[int] = mapped_column(BigInteger, nullable=False)
    to_block: Mapped[int] = mapped_column(BigInteger, nullable=False)
    trades: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0, doc="Trades scored.")
    flags: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0, doc="Flags stored (new).")
    model_version: Mapped[str | None] = mapped_column(String(64), nullable=True)
    started_at: Mapped[datetime] = mapped_column(UtcDateTime, nullable=False)
    finished_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)


class AnomalyAccount(Base):
    """When an account was last active in the scanned activity (sent or received a trade).

    Scans see only a few days of earlier trades as context; this row is what lets the dormancy
    rule know an account that wakes after months was active before, however long ago.
    """

    __tablename__ = "anomaly_accounts"

    account: Mapped[str] = mapped_column(String(64), primary_key=True)
    last_ts: Mapped[int] = mapped_column(BigInteger, nullable=False, doc="Unix seconds of its last trade.")
    last_block: Mapped[int] = mapped_column(BigInteger, nullable=False)


class ReconciliationRun(Base):
    """One reconciliation at one block; ``ok`` is None while running, then all checks' conjunction."""

    __tablename__ = "reconciliation_runs"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    block: Mapped[int] = mapped_column(BigInteger, nullable=False, index=True)
    started_at: Mapped[datetime] = mapped_column(UtcDateTime, nullable=False)
    finished_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    ok: Mapped[bool | None] = mapped_column(Boolean, nullable=True)


class ReconciliationCheck(Base):
    """The result of one check of a run: what was expected, what was found, and why.

    ``expected`` and ``actual`` are exact integers (sen, tonnes) written as decimal text, because
    sums of uint256 values do not fit SQL integers and must never pass through a float.
    """

    __tablename__ = "reconciliation_checks"
    __table_args__ = (Index("ix_reconciliation_checks_check_block_number", "check", "block_number"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    run_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("reconciliation_runs.id"), nullable=False, index=True
    )
    block_number: Mapped[int] = mapped_column(BigInteger, nullable=False)
    check: Mapped[str] = mapped_column(String(64), nullable=False, doc="e.g. msc_supply_matches_balances.")
    subject: Mapped[str] = mapped_column(
        String(128), nullable=False, default="", doc="What was checked: a token id, an escrow, ''."
    )
    ok: Mapped[bool] = mapped_column(Boolean, nullable=False)
    expected: Mapped[str] = mapped_column(Text, nullable=False, doc="Exact integer as decimal text.")
    actual: Mapped[str] = mapped_column(Text, nullable=False, doc="Exact integer as decimal text.")
    details: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False, default=dict)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, nullable=False)


# Core tables for bulk statements (``insert(...).values([...])``), typed as the Table they are.
ANOMALY_FLAGS: Table = AnomalyFlag.__table__  # type: ignore[assignment]
ANOMALY_SCANS: Table = AnomalyScan.__table__  # type: ignore[assignment]
ANOMALY_ACCOUNTS: Table = AnomalyAccount.__table__  # type: ignore[assignment]
RECONCILIATION_RUNS: Table = ReconciliationRun.__table__  # type: ignore[assignment]
RECONCILIATION_CHECKS: Table = ReconciliationCheck.__table__  # type: ignore[assignment]
