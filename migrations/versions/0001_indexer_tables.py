"""Indexer tables: blocks, raw logs, decoded events, checkpoints, ERC-20 balances and supply.

Also the ``token_holders`` view (non-zero balances); SQLite stores uint256 as zero-padded text,
so its zero is 78 zeros rather than the number 0.

Revision ID: 0001
Revises:
Create Date: 2026-11-22
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import common.sql.types
from common.sql.types import uint256_sqlite_zero

revision: str = "0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Applies the change."""
    op.create_table(
        "blocks",
        sa.Column("number", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("hash", common.sql.types.HexBytes(), nullable=False),
        sa.Column("parent_hash", common.sql.types.HexBytes(), nullable=False),
        sa.Column("timestamp", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("number", name=op.f("pk_blocks")),
        sa.UniqueConstraint("hash", name=op.f("uq_blocks_hash")),
    )
    op.create_table(
        "checkpoints",
        sa.Column("stream", sa.String(length=64), nullable=False),
        sa.Column("block_number", sa.BigInteger(), nullable=False),
        sa.Column("block_hash", common.sql.types.HexBytes(), nullable=True),
        sa.Column("chain_head", sa.BigInteger(), nullable=False),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("(CURRENT_TIMESTAMP)"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("stream", name=op.f("pk_checkpoints")),
    )
    op.create_table(
        "raw_logs",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("block_number", sa.BigInteger(), nullable=False),
        sa.Column("block_hash", common.sql.types.HexBytes(), nullable=False),
        sa.Column("log_index", sa.Integer(), nullable=False),
        sa.Column("tx_hash", common.sql.types.HexBytes(), nullable=False),
        sa.Column("tx_index", sa.Integer(), nullable=False),
        sa.Column("address", sa.String(length=42), nullable=False),
        sa.Column("topic0", common.sql.types.HexBytes(), nullable=True),
        sa.Column("topic1", common.sql.types.HexBytes(), nullable=True),
        sa.Column("topic2", common.sql.types.HexBytes(), nullable=True),
        sa.Column("topic3", common.sql.types.HexBytes(), nullable=True),
        sa.Column("data", common.sql.types.HexBytes(), nullable=False),
        sa.Column("removed", sa.Boolean(), nullable=False),
        sa.Column("status", sa.String(length=24), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_raw_logs")),
        sa.UniqueConstraint("block_hash", "log_index", name=op.f("uq_raw_logs_block_hash_log_index")),
    )
    with op.batch_alter_table("raw_logs", schema=None) as batch_op:
        batch_op.create_index("ix_raw_logs_address_topic0", ["address", "topic0"], unique=False)
        batch_op.create_index("ix_raw_logs_block_number", ["block_number"], unique=False)

    op.create_table(
        "supply_history",
        sa.Column("token", sa.String(length=42), nullable=False),
        sa.Column("block_number", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("total_supply", common.sql.types.Uint256(), nullable=False),
        sa.PrimaryKeyConstraint("token", "block_number", name=op.f("pk_supply_history")),
    )
    op.create_table(
        "token_balances",
        sa.Column("token", sa.String(length=42), nullable=False),
        sa.Column("account", sa.String(length=42), nullable=False),
        sa.Column("balance", common.sql.types.Uint256(), nullable=False),
        sa.PrimaryKeyConstraint("token", "account", name=op.f("pk_token_balances")),
    )
    op.create_table(
        "decoded_events",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("block_number", sa.BigInteger(), nullable=False),
        sa.Column("block_hash", common.sql.types.HexBytes(), nullable=False),
        sa.Column("log_index", sa.Integer(), nullable=False),
        sa.Column("tx_hash", common.sql.types.HexBytes(), nullable=False),
        sa.Column("address", sa.String(length=42), nullable=False),
        sa.Column("contract", sa.String(length=64), nullable=False),
        sa.Column("event", sa.String(length=64), nullable=False),
        sa.Column("args", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["block_hash", "log_index"],
            ["raw_logs.block_hash", "raw_logs.log_index"],
            name=op.f("fk_decoded_events_block_hash_log_index_raw_logs"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_decoded_events")),
        sa.UniqueConstraint("block_hash", "log_index", name=op.f("uq_decoded_events_block_hash_log_index")),
    )
    with op.batch_alter_table("decoded_events", schema=None) as batch_op:
        batch_op.create_index("ix_decoded_events_block_number", ["block_number"], unique=False)
        batch_op.create_index(
            "ix_decoded_events_contract_event", ["contract", "event", "block_number"], unique=False
        )

    zero = "0" if op.get_bind().dialect.name == "postgresql" else f"'{uint256_sqlite_zero()}'"
    op.execute(
        "CREATE VIEW token_holders AS SELECT token, account, balance FROM token_balances "
        f"WHERE balance <> {zero}"
    )


def downgrade() -> None:
    """Reverts the change."""
    op.execute("DROP VIEW token_holders")
    with op.batch_alter_table("decoded_events", schema=None) as batch_op:
        batch_op.drop_index("ix_decoded_events_contract_event")
        batch_op.drop_index("ix_decoded_events_block_number")

    op.drop_table("decoded_events")
    op.drop_table("token_balances")
    op.drop_table("supply_history")
    with op.batch_alter_table("raw_logs", schema=None) as batch_op:
        batch_op.drop_index("ix_raw_logs_block_number")
        batch_op.drop_index("ix_raw_logs_address_topic0")

    op.drop_table("raw_logs")
    op.drop_table("checkpoints")
    op.drop_table("blocks")
