"""Proof of liabilities: each period's Merkle-sum snapshot and its per-merchant leaves.

* ``liability_snapshots``: period (YYYY-MM, unique), root, total, the block and ledger entry the
  books are cut at, the write-ahead publish transaction (:mod:`audit.liabilities.publish`);
* ``liability_leaves``: one row per merchant and snapshot, its amounts and leaf commitment.

Revision ID: 0027
Revises: 0026
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from common.sql.helpers import UtcDateTime

revision: str = "0027"
down_revision: str | Sequence[str] | None = "0026"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Creates both tables."""
    op.create_table(
        "liability_snapshots",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("period", sa.String(length=7), nullable=False),
        sa.Column("root", sa.String(length=66), nullable=False),
        sa.Column("total", sa.BigInteger(), nullable=False),
        sa.Column("block_number", sa.BigInteger(), nullable=False),
        sa.Column("ledger_entry_id", sa.BigInteger(), nullable=False),
        sa.Column("leaf_count", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("tx_hash", sa.String(length=66), nullable=True),
        sa.Column("raw_tx", sa.Text(), nullable=True),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
        sa.CheckConstraint(
            "status IN ('written', 'signed', 'confirmed')", name=op.f("ck_liability_snapshots_status_known")
        ),
        sa.CheckConstraint("total >= 0", name=op.f("ck_liability_snapshots_total_not_negative")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_liability_snapshots")),
        sa.UniqueConstraint("period", name=op.f("uq_liability_snapshots_period")),
    )
    op.create_table(
        "liability_leaves",
        sa.Column("snapshot_id", sa.BigInteger(), nullable=False),
        sa.Column("merchant_id", sa.String(length=128), nullable=False),
        sa.Column("credited_not_minted", sa.BigInteger(), nullable=False),
        sa.Column("payouts_unpaid", sa.BigInteger(), nullable=False),
        sa.Column("refunds_owed", sa.BigInteger(), nullable=False),
        sa.Column("leaf_sum", sa.BigInteger(), nullable=False),
        sa.Column("leaf_hash", sa.String(length=66), nullable=False),
        sa.CheckConstraint(
            "credited_not_minted >= 0 AND payouts_unpaid >= 0 AND refunds_owed >= 0",
            name=op.f("ck_liability_leaves_amounts_not_negative"),
        ),
        sa.ForeignKeyConstraint(
            ["snapshot_id"],
            ["liability_snapshots.id"],
            name=op.f("fk_liability_leaves_snapshot_id_liability_snapshots"),
        ),
        sa.PrimaryKeyConstraint("snapshot_id", "merchant_id", name=op.f("pk_liability_leaves")),
    )


def downgrade() -> None:
    """Drops both tables."""
    op.drop_table("liability_leaves")
    op.drop_table("liability_snapshots")
