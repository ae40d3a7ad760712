"""Indexer tables derived from CarbonMarket.

``market_trades`` (one row per ``OrderFilled``), ``market_orders`` (fill and cancel state per
order hash), ``market_nonces``, ``market_terms`` and ``market_allowlist`` (histories); see
``indexer.market_models``.

Also drops the foreign key from ``decoded_events`` to ``raw_logs``: its per-row check was a third
of PostgreSQL's work in a backfill (measured: 1.0 of 3.0 CPU seconds per 100,000 events), and
what it guarded is kept by the one writer: a decoded event is written in the same transaction as
its raw log, and ``indexer.store.delete_above`` deletes decoded events before raw logs.

Revision ID: 0012
Revises: 0006
Create Date: 2026-11-22
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import common.sql.types

revision: str = "0012"
down_revision: str | Sequence[str] | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


FK_DECODED_RAW = "fk_decoded_events_block_hash_log_index_raw_logs"


def upgrade() -> None:
    """Applies the change."""
    with op.batch_alter_table("decoded_events", schema=None) as batch_op:
        batch_op.drop_constraint(FK_DECODED_RAW, type_="foreignkey")
    op.create_table(
        "market_trades",
        sa.Column("market", sa.String(length=42), nullable=False),
        sa.Column("block_number", sa.BigInteger(), nullable=False),
        sa.Column("log_index", sa.Integer(), nullable=False),
        sa.Column("tx_hash", common.sql.types.HexBytes(), nullable=False),
        sa.Column("buy_hash", common.sql.types.HexBytes(), nullable=False),
        sa.Column("sell_hash", common.sql.types.HexBytes(), nullable=False),
        sa.Column("token_id", common.sql.types.Uint256(), nullable=False),
        sa.Column("buyer", sa.String(length=42), nullable=False),
        sa.Column("seller", sa.String(length=42), nullable=False),
        sa.Column("amount", common.sql.types.Uint256(), nullable=False),
        sa.Column("price", common.sql.types.Uint256(), nullable=False),
        sa.Column("notional", common.sql.types.Uint256(), nullable=False),
        sa.Column("fee", common.sql.types.Uint256(), nullable=False),
        sa.PrimaryKeyConstraint("market", "block_number", "log_index", name=op.f("pk_market_trades")),
    )
    with op.batch_alter_table("market_trades", schema=None) as batch_op:
        batch_op.create_index(
            "ix_market_trades_market_token_block", ["market", "token_id", "block_number", "log_index"]
        )
        batch_op.create_index("ix_market_trades_market_buyer", ["market", "buyer"])
        batch_op.create_index("ix_market_trades_market_seller", ["market", "seller"])
        batch_op.create_index("ix_market_trades_block_number", ["block_number"])

    op.create_table(
        "market_orders",
        sa.Column("market", sa.String(length=42), nullable=False),
        sa.Column("order_hash", common.sql.types.HexBytes(), nullable=False),
        sa.Column("trader", sa.String(length=42), nullable=False),
        sa.Column("side", sa.String(length=4), nullable=True),
        sa.Column("token_id", common.sql.types.Uint256(), nullable=True),
        sa.Column("filled", common.sql.types.Uint256(), nullable=False),
        sa.Column("fills", sa.Integer(), nullable=False),
        sa.Column("cancellations", sa.Integer(), nullable=False),
        sa.Column("first_block", sa.BigInteger(), nullable=False),
        sa.Column("cancelled_block", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("market", "order_hash", name=op.f("pk_market_orders")),
    )
    with op.batch_alter_table("market_orders", schema=None) as batch_op:
        batch_op.create_index("ix_market_orders_market_trader", ["market", "trader"])

    op.create_table(
        "market_nonces",
        sa.Column("market", sa.String(length=42), nullable=False),
        sa.Column("trader", sa.String(length=42), nullable=False),
        sa.Column("nonce", common.sql.types.Uint256(), nullable=False),
        sa.PrimaryKeyConstraint("market", "trader", name=op.f("pk_market_nonces")),
    )
    op.create_table(
        "market_terms",
        sa.Column("market", sa.String(length=42), nullable=False),
        sa.Column("block_number", sa.BigInteger(), nullable=False),
        sa.Column("log_index", sa.Integer(), nullable=False),
        sa.Column("fee_bps", sa.Integer(), nullable=True),
        sa.Column("fee_recipient", sa.String(length=42), nullable=True),
        sa.Column("size_limit", common.sql.types.Uint256(), nullable=True),
        sa.PrimaryKeyConstraint("market", "block_number", "log_index", name=op.f("pk_market_terms")),
    )
    op.create_table(
        "market_allowlist",
        sa.Column("market", sa.String(length=42), nullable=False),
        sa.Column("block_number", sa.BigInteger(), nullable=False),
        sa.Column("log_index", sa.Integer(), nullable=False),
        sa.Column("account", sa.String(length=42), nullable=False),
        sa.Column("allowed", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("market", "block_number", "log_index", name=op.f("pk_market_allowlist")),
    )
    with op.batch_alter_table("market_allowlist", schema=None) as batch_op:
        batch_op.create_index("ix_market_allowlist_market_account", ["market", "account"])


def downgrade() -> None:
    """Reverts the change."""
    with op.batch_alter_table("market_allowlist", schema=None) as batch_op:
        batch_op.drop_index("ix_market_allowlist_market_account")
    op.drop_table("market_allowlist")
    op.drop_table("market_terms")
    op.drop_table("market_nonces")
    with op.batch_alter_table("market_orders", schema=None) as batch_op:
        batch_op.drop_index("ix_market_orders_market_trader")
    op.drop_table("market_orders")
    with op.batch_alter_table("market_trades", schema=None) as batch_op:
        batch_op.drop_index("ix_market_trades_block_number")
        batch_op.drop_index("ix_market_trades_market_seller")
        batch_op.drop_index("ix_market_trades_market_buyer")
        batch_op.drop_index("ix_market_trades_market_token_block")
    op.drop_table("market_trades")
    with op.batch_alter_table("decoded_events", schema=None) as batch_op:
        batch_op.create_foreign_key(
            FK_DECODED_RAW,
            "raw_logs",
            ["block_hash", "log_index"],
            ["block_hash", "log_index"],
            ondelete="CASCADE",
        )
