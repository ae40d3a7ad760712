"""Escrow pay-backs and the app wallet's shared payout slot.

* ``paybacks``: one row per ``customer_refunds_owed`` entry (unique ``source_key``): the Pi owed
  to the customer and the MSC to burn, with the write-ahead records of each step
  (:mod:`settlement.paybacks`).
* ``pi_wallet_slots``: who holds the app wallet's one in-flight payout (refunds and pay-backs
  alike); a refund in flight when this runs keeps its slot (copied from ``pi_refunds.wallet_slot``).

Revision ID: 0025
Revises: 0022
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from common.sql.helpers import UtcDateTime

revision: str = "0025"
down_revision: str | Sequence[str] | None = "0022"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Creates the tables; an in-flight refund's slot moves to the shared table."""
    op.create_table(
        "pi_wallet_slots",
        sa.Column("wallet", sa.String(length=64), nullable=False),
        sa.Column("holder", sa.String(length=64), nullable=False),
        sa.Column("taken_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("wallet", name=op.f("pk_pi_wallet_slots")),
    )
    op.execute(
        "INSERT INTO pi_wallet_slots (wallet, holder, taken_at) "
        "SELECT wallet_slot, 'refund:' || CAST(id AS VARCHAR(36)), updated_at FROM pi_refunds "
        "WHERE wallet_slot IS NOT NULL"
    )
    op.create_table(
        "paybacks",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("source_key", sa.String(length=200), nullable=False),
        sa.Column("payment_id", sa.Uuid(), nullable=False),
        sa.Column("payer", sa.String(length=42), nullable=False),
        sa.Column("msc_amount", sa.BigInteger(), nullable=False),
        sa.Column("pi_amount", sa.BigInteger(), nullable=False),
        sa.Column("fee_pi", sa.BigInteger(), nullable=False),
        sa.Column("user_uid", sa.String(length=128), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("pi_payment_id", sa.String(length=128), nullable=True),
        sa.Column("to_address", sa.String(length=64), nullable=True),
        sa.Column("txid", sa.String(length=128), nullable=True),
        sa.Column("envelope_xdr", sa.Text(), nullable=True),
        sa.Column("max_time", sa.BigInteger(), nullable=True),
        sa.Column("burn_tx_hash", sa.String(length=66), nullable=True),
        sa.Column("burn_raw_tx", sa.Text(), nullable=True),
        sa.Column("error_reason", sa.Text(), nullable=True),
        sa.Column("failed_from", sa.String(length=16), nullable=True),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
        sa.CheckConstraint(
            "fee_pi >= 0 AND fee_pi <= pi_amount", name=op.f("ck_paybacks_fee_pi_within_pi_amount")
        ),
        sa.CheckConstraint("msc_amount > 0", name=op.f("ck_paybacks_msc_amount_positive")),
        sa.CheckConstraint("pi_amount >= 0", name=op.f("ck_paybacks_pi_amount_not_negative")),
        sa.ForeignKeyConstraint(
            ["payment_id"], ["payments.id"], name=op.f("fk_paybacks_payment_id_payments")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_paybacks")),
        sa.UniqueConstraint("burn_tx_hash", name=op.f("uq_paybacks_burn_tx_hash")),
        sa.UniqueConstraint("pi_payment_id", name=op.f("uq_paybacks_pi_payment_id")),
        sa.UniqueConstraint("source_key", name=op.f("uq_paybacks_source_key")),
        sa.UniqueConstraint("txid", name=op.f("uq_paybacks_txid")),
    )
    with op.batch_alter_table("paybacks", schema=None) as batch_op:
        batch_op.create_index("ix_paybacks_payment_id", ["payment_id"], unique=False)
        batch_op.create_index("ix_paybacks_status", ["status"], unique=False)


def downgrade() -> None:
    """Drops the tables (a refund's slot stays in ``pi_refunds.wallet_slot``)."""
    with op.batch_alter_table("paybacks", schema=None) as batch_op:
        batch_op.drop_index("ix_paybacks_status")
        batch_op.drop_index("ix_paybacks_payment_id")
    op.drop_table("paybacks")
    op.drop_table("pi_wallet_slots")
