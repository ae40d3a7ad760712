"""Merchants' refunds of their customers' payments (write-ahead states) and their history.

Revision ID: 0024
Revises: 0022
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from common.sql.helpers import UtcDateTime

revision: str = "0024"
down_revision: str | Sequence[str] | None = "0022"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Creates ``merchant_refunds`` and ``merchant_refund_history``."""
    op.create_table(
        "merchant_refunds",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("merchant_id", sa.Uuid(), nullable=False),
        sa.Column("payment_id", sa.Uuid(), nullable=False),
        sa.Column("idempotency_key", sa.String(length=128), nullable=False),
        sa.Column("open_for", sa.Uuid(), nullable=True),
        sa.Column("route", sa.String(length=16), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("requested_by_user_id", sa.Uuid(), nullable=True),
        sa.Column("requested_by_api_key_id", sa.Uuid(), nullable=True),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("signer", sa.String(length=42), nullable=True),
        sa.Column("auth_nonce", sa.String(length=66), nullable=True),
        sa.Column("valid_before", sa.BigInteger(), nullable=True),
        sa.Column("signature", sa.String(length=1024), nullable=True),
        sa.Column("sender", sa.String(length=42), nullable=True),
        sa.Column("tx_hash", sa.String(length=66), nullable=True),
        sa.Column("raw_tx", sa.Text(), nullable=True),
        sa.Column("block_number", sa.BigInteger(), nullable=True),
        sa.Column("failure", sa.Text(), nullable=True),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
        sa.CheckConstraint("amount > 0", name=op.f("ck_merchant_refunds_amount_positive")),
        sa.ForeignKeyConstraint(
            ["merchant_id"], ["merchants.id"], name=op.f("fk_merchant_refunds_merchant_id_merchants")
        ),
        sa.ForeignKeyConstraint(
            ["payment_id"], ["payments.id"], name=op.f("fk_merchant_refunds_payment_id_payments")
        ),
        sa.ForeignKeyConstraint(
            ["requested_by_user_id"],
            ["merchant_users.id"],
            name=op.f("fk_merchant_refunds_requested_by_user_id_merchant_users"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_merchant_refunds")),
        sa.UniqueConstraint(
            "merchant_id", "idempotency_key", name=op.f("uq_merchant_refunds_merchant_id_idempotency_key")
        ),
        sa.UniqueConstraint("open_for", name=op.f("uq_merchant_refunds_open_for")),
    )
    op.create_index("ix_merchant_refunds_payment_id", "merchant_refunds", ["payment_id"])
    op.create_index("ix_merchant_refunds_state", "merchant_refunds", ["state"])
    op.create_table(
        "merchant_refund_history",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("refund_id", sa.Uuid(), nullable=False),
        sa.Column("from_state", sa.String(length=16), nullable=True),
        sa.Column("to_state", sa.String(length=16), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("at", UtcDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["refund_id"],
            ["merchant_refunds.id"],
            name=op.f("fk_merchant_refund_history_refund_id_merchant_refunds"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_merchant_refund_history")),
    )
    op.create_index("ix_merchant_refund_history_refund_id", "merchant_refund_history", ["refund_id"])


def downgrade() -> None:
    """Drops both tables."""
    op.drop_index("ix_merchant_refund_history_refund_id", table_name="merchant_refund_history")
    op.drop_table("merchant_refund_history")
    op.drop_index("ix_merchant_refunds_state", table_name="merchant_refunds")
    op.drop_index("ix_merchant_refunds_payment_id", table_name="merchant_refunds")
    op.drop_table("merchant_refunds")
