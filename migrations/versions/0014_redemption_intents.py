"""Write-ahead records of redemptions and mints.

``redemption_intents`` (and its history): a redemption request committed before the merchant's
authorization is relayed, so a failure after the relay is finished by the workers from the chain.
``mint_batches`` gains its written-ahead mint (``mint_amount``, ``mint_raw_tx``): the signed mint
is committed before it is broadcast and rebroadcast unchanged after a crash or a reorg.

Revision ID: 0014
Revises: 0013
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import settlement.ledger.sql

revision: str = "0014"
down_revision: str | Sequence[str] | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UtcDateTime = settlement.ledger.sql.UtcDateTime


def upgrade() -> None:
    """Applies the change."""
    op.create_table(
        "redemption_intents",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("idempotency_key", sa.String(length=400), nullable=False),
        sa.Column("merchant_id", sa.String(length=128), nullable=False),
        sa.Column("merchant_address", sa.String(length=42), nullable=False),
        sa.Column("redeemer", sa.String(length=42), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("fee", sa.BigInteger(), nullable=False),
        sa.Column("bank_account", sa.String(length=200), nullable=False),
        sa.Column("valid_after", sa.BigInteger(), nullable=False),
        sa.Column("valid_before", sa.BigInteger(), nullable=False),
        sa.Column("auth_nonce", sa.String(length=66), nullable=False),
        sa.Column("signature", sa.String(length=132), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("transfer_tx_hash", sa.String(length=66), nullable=True),
        sa.Column("payout_id", sa.Uuid(), nullable=True),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
        sa.CheckConstraint("amount > 0", name=op.f("ck_redemption_intents_amount_positive")),
        sa.CheckConstraint("fee >= 0 AND fee < amount", name=op.f("ck_redemption_intents_fee_within_amount")),
        sa.CheckConstraint(
            "valid_after >= 0 AND valid_after < valid_before",
            name=op.f("ck_redemption_intents_window_ordered"),
        ),
        sa.ForeignKeyConstraint(
            ["payout_id"], ["payouts.id"], name=op.f("fk_redemption_intents_payout_id_payouts")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_redemption_intents")),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_redemption_intents_idempotency_key")),
        sa.UniqueConstraint(
            "merchant_address", "auth_nonce", name=op.f("uq_redemption_intents_merchant_address_auth_nonce")
        ),
    )
    op.create_index(
        "ix_redemption_intents_status", "redemption_intents", ["status", "updated_at"], unique=False
    )
    op.create_table(
        "redemption_intent_history",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("intent_id", sa.Uuid(), nullable=False),
        sa.Column("from_status", sa.String(length=16), nullable=False),
        sa.Column("to_status", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("at", UtcDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["intent_id"],
            ["redemption_intents.id"],
            name=op.f("fk_redemption_intent_history_intent_id_redemption_intents"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_redemption_intent_history")),
    )
    op.create_index(
        "ix_redemption_intent_history_intent_id", "redemption_intent_history", ["intent_id"], unique=False
    )
    with op.batch_alter_table("mint_batches") as batch:
        batch.add_column(sa.Column("mint_amount", sa.BigInteger(), nullable=True))
        batch.add_column(sa.Column("mint_raw_tx", sa.Text(), nullable=True))


def downgrade() -> None:
    """Reverts the change."""
    with op.batch_alter_table("mint_batches") as batch:
        batch.drop_column("mint_raw_tx")
        batch.drop_column("mint_amount")
    op.drop_index("ix_redemption_intent_history_intent_id", table_name="redemption_intent_history")
    op.drop_table("redemption_intent_history")
    op.drop_index("ix_redemption_intents_status", table_name="redemption_intents")
    op.drop_table("redemption_intents")
