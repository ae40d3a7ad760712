"""Indexer tables derived from MerchantEscrow and LockStaking, and a raw-log index on topic1.

``escrow_payments`` / ``escrow_guarantee`` and ``staking_locks`` / ``staking_reward_periods``
(see ``indexer.models``). ``ix_raw_logs_address_topic1`` serves the escrow projection's reorg
rollback, which looks up a payment's latest surviving event by its id (topic1), and explorer
look-ups of a payment's or a lock's events.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import common.sql.types

revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Applies the change."""
    op.create_table(
        "escrow_payments",
        sa.Column("escrow", sa.String(length=42), nullable=False),
        sa.Column("payment_id", common.sql.types.HexBytes(), nullable=False),
        sa.Column("merchant", sa.String(length=42), nullable=False),
        sa.Column("payer", sa.String(length=42), nullable=False),
        sa.Column("amount", common.sql.types.Uint256(), nullable=False),
        sa.Column("held", common.sql.types.Uint256(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("release_after", sa.BigInteger(), nullable=False),
        sa.Column("dispute_deadline", sa.BigInteger(), nullable=True),
        sa.Column("released", common.sql.types.Uint256(), nullable=False),
        sa.Column("refunded", common.sql.types.Uint256(), nullable=False),
        sa.Column("covered", common.sql.types.Uint256(), nullable=False),
        sa.Column("deposit_block", sa.BigInteger(), nullable=False),
        sa.Column("last_block", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("escrow", "payment_id", name=op.f("pk_escrow_payments")),
    )
    with op.batch_alter_table("escrow_payments", schema=None) as batch_op:
        batch_op.create_index("ix_escrow_payments_escrow_merchant", ["escrow", "merchant"], unique=False)
        batch_op.create_index("ix_escrow_payments_escrow_status", ["escrow", "status"], unique=False)

    op.create_table(
        "escrow_guarantee",
        sa.Column("escrow", sa.String(length=42), nullable=False),
        sa.Column("block_number", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("log_index", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("actor", sa.String(length=42), nullable=False),
        sa.Column("increase", sa.Boolean(), nullable=False),
        sa.Column("amount", common.sql.types.Uint256(), nullable=False),
        sa.Column("balance", common.sql.types.Uint256(), nullable=False),
        sa.PrimaryKeyConstraint("escrow", "block_number", "log_index", name=op.f("pk_escrow_guarantee")),
    )
    op.create_table(
        "staking_locks",
        sa.Column("staking", sa.String(length=42), nullable=False),
        sa.Column("lock_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("owner", sa.String(length=42), nullable=False),
        sa.Column("tier", sa.Integer(), nullable=False),
        sa.Column("amount", common.sql.types.Uint256(), nullable=False),
        sa.Column("starts_at", sa.BigInteger(), nullable=False),
        sa.Column("ends_at", sa.BigInteger(), nullable=False),
        sa.Column("weight_bps", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("rewards_paid", common.sql.types.Uint256(), nullable=False),
        sa.Column("penalty", common.sql.types.Uint256(), nullable=False),
        sa.Column("opened_block", sa.BigInteger(), nullable=False),
        sa.Column("closed_block", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("staking", "lock_id", name=op.f("pk_staking_locks")),
    )
    with op.batch_alter_table("staking_locks", schema=None) as batch_op:
        batch_op.create_index("ix_staking_locks_staking_owner", ["staking", "owner"], unique=False)
        batch_op.create_index("ix_staking_locks_staking_status", ["staking", "status"], unique=False)

    op.create_table(
        "staking_reward_periods",
        sa.Column("staking", sa.String(length=42), nullable=False),
        sa.Column("block_number", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("log_index", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("funder", sa.String(length=42), nullable=False),
        sa.Column("amount", common.sql.types.Uint256(), nullable=False),
        sa.Column("rate", common.sql.types.Uint256(), nullable=False),
        sa.Column("period_finish", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint(
            "staking", "block_number", "log_index", name=op.f("pk_staking_reward_periods")
        ),
    )
    with op.batch_alter_table("raw_logs", schema=None) as batch_op:
        batch_op.create_index("ix_raw_logs_address_topic1", ["address", "topic1"], unique=False)


def downgrade() -> None:
    """Reverts the change."""
    with op.batch_alter_table("raw_logs", schema=None) as batch_op:
        batch_op.drop_index("ix_raw_logs_address_topic1")

    op.drop_table("staking_reward_periods")
    with op.batch_alter_table("staking_locks", schema=None) as batch_op:
        batch_op.drop_index("ix_staking_locks_staking_status")
        batch_op.drop_index("ix_staking_locks_staking_owner")

    op.drop_table("staking_locks")
    op.drop_table("escrow_guarantee")
    with op.batch_alter_table("escrow_payments", schema=None) as batch_op:
        batch_op.drop_index("ix_escrow_payments_escrow_status")
        batch_op.drop_index("ix_escrow_payments_escrow_merchant")

    op.drop_table("escrow_payments")
