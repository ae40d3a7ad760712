"""Settlement tables: quotes, double-entry ledger, payments and payouts with status history.

Money columns are BIGINT minor units (Pi 10^-7, IDR sen); exact quote prices are Uint256
fractions. Timestamps are ``timestamptz`` (the models' ``UtcDateTime`` normalises to UTC on SQLite).

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from common.sql.types import Uint256

revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Applies the change."""
    op.create_table(
        "ledger_accounts",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("code", sa.String(length=160), nullable=False),
        sa.Column("currency", sa.String(length=8), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("owner", sa.String(length=128), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ledger_accounts")),
        sa.UniqueConstraint("code", "currency", name=op.f("uq_ledger_accounts_code_currency")),
        sa.UniqueConstraint("id", "currency", name=op.f("uq_ledger_accounts_id_currency")),
    )
    op.create_table(
        "ledger_entries",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("idempotency_key", sa.String(length=200), nullable=False),
        sa.Column("currency", sa.String(length=8), nullable=False),
        sa.Column("kind", sa.String(length=64), nullable=False),
        sa.Column("reference", sa.String(length=128), nullable=True),
        sa.Column("description", sa.String(length=500), nullable=False),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.Column("posted_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ledger_entries")),
        sa.UniqueConstraint("id", "currency", name=op.f("uq_ledger_entries_id_currency")),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_ledger_entries_idempotency_key")),
    )
    with op.batch_alter_table("ledger_entries", schema=None) as batch_op:
        batch_op.create_index("ix_ledger_entries_posted_at", ["posted_at"], unique=False)
        batch_op.create_index("ix_ledger_entries_reference", ["reference"], unique=False)

    op.create_table(
        "payouts",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("idempotency_key", sa.String(length=200), nullable=False),
        sa.Column("merchant_id", sa.String(length=128), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("fee", sa.BigInteger(), nullable=False),
        sa.Column("bank_account", sa.String(length=200), nullable=False),
        sa.Column("bank_reference", sa.String(length=200), nullable=True),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("failure_reason", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("amount > 0 AND fee >= 0 AND fee < amount", name=op.f("ck_payouts_amounts_valid")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payouts")),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_payouts_idempotency_key")),
    )
    with op.batch_alter_table("payouts", schema=None) as batch_op:
        batch_op.create_index(
            "ix_payouts_merchant_id_created_at", ["merchant_id", "created_at"], unique=False
        )
        batch_op.create_index("ix_payouts_status", ["status"], unique=False)

    op.create_table(
        "quotes",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("sell_asset", sa.String(length=8), nullable=False),
        sa.Column("buy_asset", sa.String(length=8), nullable=False),
        sa.Column("sell_amount", sa.BigInteger(), nullable=False),
        sa.Column("buy_amount", sa.BigInteger(), nullable=False),
        sa.Column("fee_total", sa.BigInteger(), nullable=False),
        sa.Column("fee_asset", sa.String(length=8), nullable=False),
        sa.Column("fee_details", sa.JSON(), nullable=False),
        sa.Column("price_numerator", Uint256(), nullable=False),
        sa.Column("price_denominator", Uint256(), nullable=False),
        sa.Column("market_price_numerator", Uint256(), nullable=False),
        sa.Column("market_price_denominator", Uint256(), nullable=False),
        sa.Column("rate_idr_per_pi", sa.String(length=64), nullable=False),
        sa.Column("rate_source", sa.String(length=500), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("payment_id", sa.Uuid(), nullable=True),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("buy_amount > 0", name=op.f("ck_quotes_buy_amount_positive")),
        sa.CheckConstraint(
            "fee_total >= 0 AND fee_total < sell_amount", name=op.f("ck_quotes_fee_below_sell_amount")
        ),
        sa.CheckConstraint("sell_amount > 0", name=op.f("ck_quotes_sell_amount_positive")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_quotes")),
        sa.UniqueConstraint("payment_id", name=op.f("uq_quotes_payment_id")),
    )
    op.create_table(
        "ledger_postings",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("entry_id", sa.BigInteger(), nullable=False),
        sa.Column("account_id", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=8), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.CheckConstraint("amount <> 0", name=op.f("ck_ledger_postings_amount_nonzero")),
        sa.ForeignKeyConstraint(
            ["account_id", "currency"],
            ["ledger_accounts.id", "ledger_accounts.currency"],
            name=op.f("fk_ledger_postings_account_id_currency_ledger_accounts"),
        ),
        sa.ForeignKeyConstraint(
            ["entry_id", "currency"],
            ["ledger_entries.id", "ledger_entries.currency"],
            name=op.f("fk_ledger_postings_entry_id_currency_ledger_entries"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ledger_postings")),
    )
    with op.batch_alter_table("ledger_postings", schema=None) as batch_op:
        batch_op.create_index(
            "ix_ledger_postings_account_id_entry_id", ["account_id", "entry_id"], unique=False
        )
        batch_op.create_index("ix_ledger_postings_entry_id", ["entry_id"], unique=False)

    op.create_table(
        "payments",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("pi_payment_id", sa.String(length=128), nullable=False),
        sa.Column("merchant_id", sa.String(length=128), nullable=False),
        sa.Column("quote_id", sa.Uuid(), nullable=False),
        sa.Column("txid", sa.String(length=128), nullable=True),
        sa.Column("pi_amount", sa.BigInteger(), nullable=False),
        sa.Column("fee_pi", sa.BigInteger(), nullable=False),
        sa.Column("idr_amount", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("error_reason", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "pi_amount > 0 AND idr_amount > 0 AND fee_pi >= 0", name=op.f("ck_payments_amounts_valid")
        ),
        sa.ForeignKeyConstraint(["quote_id"], ["quotes.id"], name=op.f("fk_payments_quote_id_quotes")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payments")),
        sa.UniqueConstraint("pi_payment_id", name=op.f("uq_payments_pi_payment_id")),
        sa.UniqueConstraint("quote_id", name=op.f("uq_payments_quote_id")),
        sa.UniqueConstraint("txid", name=op.f("uq_payments_txid")),
    )
    with op.batch_alter_table("payments", schema=None) as batch_op:
        batch_op.create_index(
            "ix_payments_merchant_id_created_at", ["merchant_id", "created_at"], unique=False
        )
        batch_op.create_index("ix_payments_status", ["status"], unique=False)

    op.create_table(
        "payout_status_history",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("payout_id", sa.Uuid(), nullable=False),
        sa.Column("from_status", sa.String(length=32), nullable=False),
        sa.Column("to_status", sa.String(length=32), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["payout_id"], ["payouts.id"], name=op.f("fk_payout_status_history_payout_id_payouts")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payout_status_history")),
    )
    with op.batch_alter_table("payout_status_history", schema=None) as batch_op:
        batch_op.create_index("ix_payout_status_history_payout_id", ["payout_id"], unique=False)

    op.create_table(
        "payment_status_history",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("payment_id", sa.Uuid(), nullable=False),
        sa.Column("from_status", sa.String(length=32), nullable=False),
        sa.Column("to_status", sa.String(length=32), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["payment_id"], ["payments.id"], name=op.f("fk_payment_status_history_payment_id_payments")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payment_status_history")),
    )
    with op.batch_alter_table("payment_status_history", schema=None) as batch_op:
        batch_op.create_index("ix_payment_status_history_payment_id", ["payment_id"], unique=False)


def downgrade() -> None:
    """Reverts the change."""
    with op.batch_alter_table("payment_status_history", schema=None) as batch_op:
        batch_op.drop_index("ix_payment_status_history_payment_id")

    op.drop_table("payment_status_history")
    with op.batch_alter_table("payout_status_history", schema=None) as batch_op:
        batch_op.drop_index("ix_payout_status_history_payout_id")

    op.drop_table("payout_status_history")
    with op.batch_alter_table("payments", schema=None) as batch_op:
        batch_op.drop_index("ix_payments_status")
        batch_op.drop_index("ix_payments_merchant_id_created_at")

    op.drop_table("payments")
    with op.batch_alter_table("ledger_postings", schema=None) as batch_op:
        batch_op.drop_index("ix_ledger_postings_entry_id")
        batch_op.drop_index("ix_ledger_postings_account_id_entry_id")

    op.drop_table("ledger_postings")
    op.drop_table("quotes")
    with op.batch_alter_table("payouts", schema=None) as batch_op:
        batch_op.drop_index("ix_payouts_status")
        batch_op.drop_index("ix_payouts_merchant_id_created_at")

    op.drop_table("payouts")
    with op.batch_alter_table("ledger_entries", schema=None) as batch_op:
        batch_op.drop_index("ix_ledger_entries_reference")
        batch_op.drop_index("ix_ledger_entries_posted_at")

    op.drop_table("ledger_entries")
    op.drop_table("ledger_accounts")
