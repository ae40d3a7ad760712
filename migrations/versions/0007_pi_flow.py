"""Pi flow tables: app-to-user refunds (txid recorded before submit, one in flight per wallet) and
the Horizon payment stream cursor.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-22
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | Sequence[str] | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Applies the change."""
    op.create_table(
        "pi_refunds",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("payment_id", sa.Uuid(), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("user_uid", sa.String(length=128), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("pi_payment_id", sa.String(length=128), nullable=True),
        sa.Column("to_address", sa.String(length=64), nullable=True),
        sa.Column("txid", sa.String(length=128), nullable=True),
        sa.Column("envelope_xdr", sa.Text(), nullable=True),
        sa.Column("max_time", sa.BigInteger(), nullable=True),
        sa.Column("wallet_slot", sa.String(length=64), nullable=True),
        sa.Column("error_reason", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("amount > 0", name=op.f("ck_pi_refunds_amount_positive")),
        sa.ForeignKeyConstraint(
            ["payment_id"], ["payments.id"], name=op.f("fk_pi_refunds_payment_id_payments")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pi_refunds")),
        sa.UniqueConstraint("payment_id", name=op.f("uq_pi_refunds_payment_id")),
        sa.UniqueConstraint("pi_payment_id", name=op.f("uq_pi_refunds_pi_payment_id")),
        sa.UniqueConstraint("txid", name=op.f("uq_pi_refunds_txid")),
        sa.UniqueConstraint("wallet_slot", name=op.f("uq_pi_refunds_wallet_slot")),
    )
    with op.batch_alter_table("pi_refunds", schema=None) as batch_op:
        batch_op.create_index("ix_pi_refunds_status", ["status"], unique=False)

    op.create_table(
        "pi_stream_cursors",
        sa.Column("account_id", sa.String(length=64), nullable=False),
        sa.Column("cursor", sa.String(length=64), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("account_id", name=op.f("pk_pi_stream_cursors")),
    )


def downgrade() -> None:
    """Reverts the change."""
    op.drop_table("pi_stream_cursors")
    with op.batch_alter_table("pi_refunds", schema=None) as batch_op:
        batch_op.drop_index("ix_pi_refunds_status")
    op.drop_table("pi_refunds")
