"""The portal's money: a merchant's bank account on file (with history), notices to its owners,
and the custodial wallet moves (export, rotation sweep) written ahead of their relay.

Revision ID: 0023
Revises: 0022
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from common.sql.helpers import UtcDateTime

revision: str = "0023"
down_revision: str | Sequence[str] | None = "0022"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Creates the three tables."""
    op.create_table(
        "merchant_bank_accounts",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("merchant_id", sa.Uuid(), nullable=False),
        sa.Column("bank_code", sa.String(length=16), nullable=False),
        sa.Column("account_number", sa.String(length=20), nullable=False),
        sa.Column("holder_name", sa.String(length=120), nullable=False),
        sa.Column("current_for", sa.Uuid(), nullable=True),
        sa.Column("changed_by_user_id", sa.Uuid(), nullable=True),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("replaced_at", UtcDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["merchant_id"], ["merchants.id"], name=op.f("fk_merchant_bank_accounts_merchant_id_merchants")
        ),
        sa.ForeignKeyConstraint(
            ["changed_by_user_id"],
            ["merchant_users.id"],
            name=op.f("fk_merchant_bank_accounts_changed_by_user_id_merchant_users"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_merchant_bank_accounts")),
        sa.UniqueConstraint("current_for", name=op.f("uq_merchant_bank_accounts_current_for")),
    )
    op.create_index("ix_merchant_bank_accounts_merchant_id", "merchant_bank_accounts", ["merchant_id"])
    op.create_table(
        "merchant_notices",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("merchant_id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("dismissed_at", UtcDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["merchant_id"], ["merchants.id"], name=op.f("fk_merchant_notices_merchant_id_merchants")
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["merchant_users.id"], name=op.f("fk_merchant_notices_user_id_merchant_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_merchant_notices")),
    )
    op.create_index("ix_merchant_notices_user_merchant", "merchant_notices", ["user_id", "merchant_id"])
    op.create_table(
        "merchant_wallet_moves",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("idempotency_key", sa.String(length=200), nullable=False),
        sa.Column("merchant_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("from_address", sa.String(length=42), nullable=False),
        sa.Column("to_address", sa.String(length=42), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("valid_after", sa.BigInteger(), nullable=False),
        sa.Column("valid_before", sa.BigInteger(), nullable=False),
        sa.Column("signature", sa.String(length=132), nullable=False),
        sa.Column("auth_nonce", sa.String(length=66), nullable=False),
        sa.Column("tx_hash", sa.String(length=66), nullable=False),
        sa.Column("raw_tx", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("requested_by_user_id", sa.Uuid(), nullable=True),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
        sa.CheckConstraint("amount > 0", name=op.f("ck_merchant_wallet_moves_amount_positive")),
        sa.ForeignKeyConstraint(
            ["merchant_id"], ["merchants.id"], name=op.f("fk_merchant_wallet_moves_merchant_id_merchants")
        ),
        sa.ForeignKeyConstraint(
            ["requested_by_user_id"],
            ["merchant_users.id"],
            name=op.f("fk_merchant_wallet_moves_requested_by_user_id_merchant_users"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_merchant_wallet_moves")),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_merchant_wallet_moves_idempotency_key")),
    )
    op.create_index("ix_merchant_wallet_moves_merchant_id", "merchant_wallet_moves", ["merchant_id"])
    op.create_index(
        "uq_merchant_wallet_moves_sender_nonce",
        "merchant_wallet_moves",
        ["from_address", "auth_nonce"],
        unique=True,
    )


def downgrade() -> None:
    """Drops the three tables."""
    op.drop_index("uq_merchant_wallet_moves_sender_nonce", table_name="merchant_wallet_moves")
    op.drop_index("ix_merchant_wallet_moves_merchant_id", table_name="merchant_wallet_moves")
    op.drop_table("merchant_wallet_moves")
    op.drop_index("ix_merchant_notices_user_merchant", table_name="merchant_notices")
    op.drop_table("merchant_notices")
    op.drop_index("ix_merchant_bank_accounts_merchant_id", table_name="merchant_bank_accounts")
    op.drop_table("merchant_bank_accounts")
