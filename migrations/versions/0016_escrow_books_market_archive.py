"""Escrow books' cursor; the market's restart reads only open orders and today's fills.

* ``ledger_escrow_cursors``: how far :mod:`settlement.escrowbooks` has booked each escrow's events.
* ``market_book_orders (status, sequence)``: a restart reads the open orders in priority order
  through this index, never the archive of filled, cancelled and expired ones.
* ``market_book_fills (timestamp_ms)`` and ``(token_id, timestamp_ms)``: today's fills (the day
  counters of the safeguards) and a token's trades since a time (candles) without a full scan.

Revision ID: 0016
Revises: 0013
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016"
down_revision: str | Sequence[str] | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Applies the change."""
    op.create_table(
        "ledger_escrow_cursors",
        sa.Column("escrow", sa.String(length=42), nullable=False),
        sa.Column("block_number", sa.BigInteger(), nullable=False),
        sa.Column("log_index", sa.BigInteger(), nullable=False),
        sa.Column("block_hash", sa.String(length=66), nullable=True),
        sa.Column("scanned_block", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("escrow", name=op.f("pk_ledger_escrow_cursors")),
    )
    with op.batch_alter_table("market_book_orders", schema=None) as batch_op:
        batch_op.create_index("ix_market_book_orders_status_sequence", ["status", "sequence"], unique=False)
    with op.batch_alter_table("market_book_fills", schema=None) as batch_op:
        batch_op.create_index("ix_market_book_fills_timestamp_ms", ["timestamp_ms"], unique=False)
        batch_op.create_index(
            "ix_market_book_fills_token_id_timestamp_ms", ["token_id", "timestamp_ms"], unique=False
        )


def downgrade() -> None:
    """Reverts the change."""
    with op.batch_alter_table("market_book_fills", schema=None) as batch_op:
        batch_op.drop_index("ix_market_book_fills_token_id_timestamp_ms")
        batch_op.drop_index("ix_market_book_fills_timestamp_ms")
    with op.batch_alter_table("market_book_orders", schema=None) as batch_op:
        batch_op.drop_index("ix_market_book_orders_status_sequence")
    op.drop_table("ledger_escrow_cursors")
