"""Carbon market book: signed orders, matched fills, settlement batches, settled trades, token state.

See ``market.models``.

Revision ID: 0011
Revises: 0006
Create Date: 2026-11-22
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import common.sql.helpers
import common.sql.types

revision: str = "0011"
down_revision: str | Sequence[str] | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Applies the change."""
    op.create_table(
        "market_book_orders",
        sa.Column("order_id", sa.String(length=66), nullable=False),
        sa.Column("trader", sa.String(length=42), nullable=False),
        sa.Column("beneficial_owner", sa.String(length=64), nullable=False),
        sa.Column("side", sa.String(length=4), nullable=False),
        sa.Column("token_id", common.sql.types.Uint256(), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("price", sa.BigInteger(), nullable=False),
        sa.Column("expiry", common.sql.types.Uint256(), nullable=False),
        sa.Column("salt", common.sql.types.Uint256(), nullable=False),
        sa.Column("nonce", common.sql.types.Uint256(), nullable=False),
        sa.Column("signature", sa.Text(), nullable=False),
        sa.Column("sequence", sa.BigInteger(), nullable=False),
        sa.Column("timestamp_ms", sa.BigInteger(), nullable=False),
        sa.Column("remaining", sa.BigInteger(), nullable=False),
        sa.Column("filled", sa.BigInteger(), nullable=False),
        sa.Column("cancelled", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("cancel_reason", sa.String(length=32), nullable=True),
        sa.Column("settlement_error", sa.Text(), nullable=True),
        sa.Column("created_at", common.sql.helpers.UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("order_id", name=op.f("pk_market_book_orders")),
        sa.UniqueConstraint("sequence", name=op.f("uq_market_book_orders_sequence")),
    )
    with op.batch_alter_table("market_book_orders", schema=None) as batch_op:
        batch_op.create_index("ix_market_book_orders_token_id_status", ["token_id", "status"], unique=False)
        batch_op.create_index("ix_market_book_orders_trader_status", ["trader", "status"], unique=False)

    op.create_table(
        "market_book_tokens",
        sa.Column("token_id", common.sql.types.Uint256(), nullable=False),
        sa.Column("reference_price", sa.BigInteger(), nullable=True),
        sa.Column("reference_as_of_ms", sa.BigInteger(), nullable=True),
        sa.Column("halted_day", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("token_id", name=op.f("pk_market_book_tokens")),
    )
    op.create_table(
        "market_settlement_batches",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("sender", sa.String(length=42), nullable=False),
        sa.Column("nonce", sa.BigInteger(), nullable=False),
        sa.Column("tx_hash", sa.String(length=66), nullable=False),
        sa.Column("raw_tx", sa.Text(), nullable=False),
        sa.Column("block_number", sa.BigInteger(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("created_at", common.sql.helpers.UtcDateTime(), nullable=False),
        sa.Column("resolved_at", common.sql.helpers.UtcDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_market_settlement_batches")),
        sa.UniqueConstraint("tx_hash", name=op.f("uq_market_settlement_batches_tx_hash")),
    )
    op.create_table(
        "market_book_fills",
        sa.Column("sequence", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("token_id", common.sql.types.Uint256(), nullable=False),
        sa.Column("maker_order_id", sa.String(length=66), nullable=False),
        sa.Column("taker_order_id", sa.String(length=66), nullable=False),
        sa.Column("maker_account", sa.String(length=64), nullable=False),
        sa.Column("taker_account", sa.String(length=64), nullable=False),
        sa.Column("taker_side", sa.String(length=4), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("price", sa.BigInteger(), nullable=False),
        sa.Column("timestamp_ms", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("batch_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["batch_id"],
            ["market_settlement_batches.id"],
            name=op.f("fk_market_book_fills_batch_id_market_settlement_batches"),
        ),
        sa.ForeignKeyConstraint(
            ["maker_order_id"],
            ["market_book_orders.order_id"],
            name=op.f("fk_market_book_fills_maker_order_id_market_book_orders"),
        ),
        sa.ForeignKeyConstraint(
            ["taker_order_id"],
            ["market_book_orders.order_id"],
            name=op.f("fk_market_book_fills_taker_order_id_market_book_orders"),
        ),
        sa.PrimaryKeyConstraint("sequence", name=op.f("pk_market_book_fills")),
    )
    with op.batch_alter_table("market_book_fills", schema=None) as batch_op:
        batch_op.create_index("ix_market_book_fills_status_sequence", ["status", "sequence"], unique=False)
        batch_op.create_index(
            "ix_market_book_fills_token_id_sequence", ["token_id", "sequence"], unique=False
        )

    op.create_table(
        "market_book_trades",
        sa.Column("fill_sequence", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("token_id", common.sql.types.Uint256(), nullable=False),
        sa.Column("buyer", sa.String(length=42), nullable=False),
        sa.Column("seller", sa.String(length=42), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("price", sa.BigInteger(), nullable=False),
        sa.Column("fee", common.sql.types.Uint256(), nullable=False),
        sa.Column("tx_hash", sa.String(length=66), nullable=False),
        sa.Column("block_number", sa.BigInteger(), nullable=False),
        sa.Column("timestamp_ms", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["fill_sequence"],
            ["market_book_fills.sequence"],
            name=op.f("fk_market_book_trades_fill_sequence_market_book_fills"),
        ),
        sa.PrimaryKeyConstraint("fill_sequence", name=op.f("pk_market_book_trades")),
    )
    with op.batch_alter_table("market_book_trades", schema=None) as batch_op:
        batch_op.create_index(
            "ix_market_book_trades_token_id_block_number", ["token_id", "block_number"], unique=False
        )


def downgrade() -> None:
    """Reverts the change."""
    with op.batch_alter_table("market_book_trades", schema=None) as batch_op:
        batch_op.drop_index("ix_market_book_trades_token_id_block_number")

    op.drop_table("market_book_trades")
    with op.batch_alter_table("market_book_fills", schema=None) as batch_op:
        batch_op.drop_index("ix_market_book_fills_token_id_sequence")
        batch_op.drop_index("ix_market_book_fills_status_sequence")

    op.drop_table("market_book_fills")
    op.drop_table("market_settlement_batches")
    op.drop_table("market_book_tokens")
    with op.batch_alter_table("market_book_orders", schema=None) as batch_op:
        batch_op.drop_index("ix_market_book_orders_trader_status")
        batch_op.drop_index("ix_market_book_orders_token_id_status")

    op.drop_table("market_book_orders")
