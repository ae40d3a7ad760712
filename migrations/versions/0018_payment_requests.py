"""Payment requests and the hosted checkout's quotes.

* ``payment_requests``: a merchant's amount (sen), reference, expiry, one-use or reusable, status.
* ``payment_request_status_history``: one row per status move.
* ``checkout_quotes``: which merchant (and request) a quote made by the hosted checkout prices.

Revision ID: 0018
Revises: 0013
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from common.sql.helpers import UtcDateTime

revision: str = "0018"
down_revision: str | Sequence[str] | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Applies the change."""
    op.create_table(
        "payment_requests",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("merchant_id", sa.Uuid(), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("reference", sa.String(length=200), nullable=False),
        sa.Column("reusable", sa.Boolean(), nullable=False),
        sa.Column("expires_at", UtcDateTime(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("payment_id", sa.Uuid(), nullable=True),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
        sa.CheckConstraint("amount > 0", name=op.f("ck_payment_requests_amount_positive")),
        sa.ForeignKeyConstraint(
            ["merchant_id"], ["merchants.id"], name=op.f("fk_payment_requests_merchant_id_merchants")
        ),
        sa.ForeignKeyConstraint(
            ["payment_id"], ["payments.id"], name=op.f("fk_payment_requests_payment_id_payments")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payment_requests")),
    )
    op.create_index(
        "ix_payment_requests_merchant_id_created_at", "payment_requests", ["merchant_id", "created_at"]
    )
    op.create_table(
        "payment_request_status_history",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("request_id", sa.Uuid(), nullable=False),
        sa.Column("from_status", sa.String(length=16), nullable=False),
        sa.Column("to_status", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("at", UtcDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["payment_requests.id"],
            name=op.f("fk_payment_request_status_history_request_id_payment_requests"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payment_request_status_history")),
    )
    op.create_index(
        "ix_payment_request_status_history_request_id", "payment_request_status_history", ["request_id"]
    )
    op.create_table(
        "checkout_quotes",
        sa.Column("quote_id", sa.Uuid(), nullable=False),
        sa.Column("merchant_id", sa.Uuid(), nullable=False),
        sa.Column("request_id", sa.Uuid(), nullable=True),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["quote_id"], ["quotes.id"], name=op.f("fk_checkout_quotes_quote_id_quotes")),
        sa.ForeignKeyConstraint(
            ["merchant_id"], ["merchants.id"], name=op.f("fk_checkout_quotes_merchant_id_merchants")
        ),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["payment_requests.id"],
            name=op.f("fk_checkout_quotes_request_id_payment_requests"),
        ),
        sa.PrimaryKeyConstraint("quote_id", name=op.f("pk_checkout_quotes")),
    )
    op.create_index("ix_checkout_quotes_request_id", "checkout_quotes", ["request_id"])


def downgrade() -> None:
    """Reverts the change."""
    op.drop_index("ix_checkout_quotes_request_id", table_name="checkout_quotes")
    op.drop_table("checkout_quotes")
    op.drop_index("ix_payment_request_status_history_request_id", table_name="payment_request_status_history")
    op.drop_table("payment_request_status_history")
    op.drop_index("ix_payment_requests_merchant_id_created_at", table_name="payment_requests")
    op.drop_table("payment_requests")
