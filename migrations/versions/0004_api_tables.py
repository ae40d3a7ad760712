"""API tables: merchants, API keys (SHA-256 hashes only), idempotency records, quote owners.

``api_keys.key_hash`` is unique (the lookup of every request); ``api_idempotency_keys`` is unique
per (API key, key), which is what serialises concurrent duplicates of one POST.
``api_quote_owners`` records which key (and merchant) made each quote through the API.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Applies the change."""
    op.create_table(
        "merchants",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("kelurahan", sa.String(length=100), nullable=False),
        sa.Column("evm_address", sa.String(length=42), nullable=False),
        sa.Column("pi_username", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_merchants")),
        sa.UniqueConstraint("evm_address", name=op.f("uq_merchants_evm_address")),
        sa.UniqueConstraint("pi_username", name=op.f("uq_merchants_pi_username")),
    )
    op.create_table(
        "api_keys",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("key_hash", sa.String(length=64), nullable=False),
        sa.Column("prefix", sa.String(length=16), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("merchant_id", sa.Uuid(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "(role = 'merchant') = (merchant_id IS NOT NULL)",
            name=op.f("ck_api_keys_merchant_key_has_merchant"),
        ),
        sa.ForeignKeyConstraint(
            ["merchant_id"], ["merchants.id"], name=op.f("fk_api_keys_merchant_id_merchants")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_keys")),
        sa.UniqueConstraint("key_hash", name=op.f("uq_api_keys_key_hash")),
    )
    op.create_table(
        "api_idempotency_keys",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("api_key_id", sa.Uuid(), nullable=False),
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("request_hash", sa.String(length=64), nullable=False),
        sa.Column("response_status", sa.Integer(), nullable=True),
        sa.Column("response_body", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["api_key_id"], ["api_keys.id"], name=op.f("fk_api_idempotency_keys_api_key_id_api_keys")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_idempotency_keys")),
        sa.UniqueConstraint("api_key_id", "key", name=op.f("uq_api_idempotency_keys_api_key_id_key")),
    )
    op.create_table(
        "api_quote_owners",
        sa.Column("quote_id", sa.Uuid(), nullable=False),
        sa.Column("api_key_id", sa.Uuid(), nullable=False),
        sa.Column("merchant_id", sa.Uuid(), nullable=True),
        sa.ForeignKeyConstraint(
            ["api_key_id"], ["api_keys.id"], name=op.f("fk_api_quote_owners_api_key_id_api_keys")
        ),
        sa.ForeignKeyConstraint(
            ["merchant_id"], ["merchants.id"], name=op.f("fk_api_quote_owners_merchant_id_merchants")
        ),
        sa.ForeignKeyConstraint(
            ["quote_id"], ["quotes.id"], name=op.f("fk_api_quote_owners_quote_id_quotes")
        ),
        sa.PrimaryKeyConstraint("quote_id", name=op.f("pk_api_quote_owners")),
    )
    with op.batch_alter_table("api_quote_owners", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_api_quote_owners_merchant_id"), ["merchant_id"], unique=False)


def downgrade() -> None:
    """Reverts the change."""
    with op.batch_alter_table("api_quote_owners", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_api_quote_owners_merchant_id"))
    op.drop_table("api_quote_owners")
    op.drop_table("api_idempotency_keys")
    op.drop_table("api_keys")
    op.drop_table("merchants")
