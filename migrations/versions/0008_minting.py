"""Minting and redemption tables.

``mint_batches`` (write-ahead record of each batch minted into the merchant escrow),
``escrow_holdings`` (each payment's MSC in escrow, its release) and ``redemptions`` (the on-chain
side of a payout: relayed authorization, burn, re-issue). See ``settlement.minting.models`` and
``settlement.redemption.models``.

Revision ID: 0008
Revises: 0006
Create Date: 2026-11-22
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import settlement.ledger.sql

revision: str = "0008"
down_revision: str | Sequence[str] | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UtcDateTime = settlement.ledger.sql.UtcDateTime


def upgrade() -> None:
    """Applies the change."""
    op.create_table(
        "mint_batches",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("depositor", sa.String(length=42), nullable=False),
        sa.Column("total_amount", sa.BigInteger(), nullable=False),
        sa.Column("minted_amount", sa.BigInteger(), nullable=False),
        sa.Column("mint_tx_hash", sa.String(length=66), nullable=True),
        sa.Column("deposit_tx_hashes", sa.JSON(), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
        sa.CheckConstraint("total_amount > 0", name=op.f("ck_mint_batches_total_positive")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mint_batches")),
    )
    op.create_index("ix_mint_batches_state", "mint_batches", ["state"], unique=False)
    op.create_table(
        "escrow_holdings",
        sa.Column("payment_id", sa.Uuid(), nullable=False),
        sa.Column("batch_id", sa.Uuid(), nullable=False),
        sa.Column("escrow_id", sa.String(length=66), nullable=False),
        sa.Column("merchant_id", sa.String(length=128), nullable=False),
        sa.Column("merchant_address", sa.String(length=42), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("release_after", sa.BigInteger(), nullable=True),
        sa.Column("released_at", UtcDateTime(), nullable=True),
        sa.CheckConstraint("amount > 0", name=op.f("ck_escrow_holdings_amount_positive")),
        sa.ForeignKeyConstraint(
            ["batch_id"], ["mint_batches.id"], name=op.f("fk_escrow_holdings_batch_id_mint_batches")
        ),
        sa.ForeignKeyConstraint(
            ["payment_id"], ["payments.id"], name=op.f("fk_escrow_holdings_payment_id_payments")
        ),
        sa.PrimaryKeyConstraint("payment_id", name=op.f("pk_escrow_holdings")),
        sa.UniqueConstraint("escrow_id", name=op.f("uq_escrow_holdings_escrow_id")),
    )
    op.create_index("ix_escrow_holdings_batch_id", "escrow_holdings", ["batch_id"], unique=False)
    op.create_index(
        "ix_escrow_holdings_release", "escrow_holdings", ["released_at", "release_after"], unique=False
    )
    op.create_table(
        "redemptions",
        sa.Column("payout_id", sa.Uuid(), nullable=False),
        sa.Column("merchant_address", sa.String(length=42), nullable=False),
        sa.Column("redeemer", sa.String(length=42), nullable=False),
        sa.Column("auth_nonce", sa.String(length=66), nullable=False),
        sa.Column("valid_before", sa.BigInteger(), nullable=False),
        sa.Column("transfer_tx_hash", sa.String(length=66), nullable=False),
        sa.Column("burn_tx_hash", sa.String(length=66), nullable=True),
        sa.Column("burn_raw_tx", sa.Text(), nullable=True),
        sa.Column("burned_at", UtcDateTime(), nullable=True),
        sa.Column("reissue_tx_hash", sa.String(length=66), nullable=True),
        sa.Column("reissue_raw_tx", sa.Text(), nullable=True),
        sa.Column("reissued_at", UtcDateTime(), nullable=True),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["payout_id"], ["payouts.id"], name=op.f("fk_redemptions_payout_id_payouts")),
        sa.PrimaryKeyConstraint("payout_id", name=op.f("pk_redemptions")),
        sa.UniqueConstraint(
            "merchant_address", "auth_nonce", name=op.f("uq_redemptions_merchant_address_auth_nonce")
        ),
    )


def downgrade() -> None:
    """Reverts the change."""
    op.drop_table("redemptions")
    op.drop_index("ix_escrow_holdings_release", table_name="escrow_holdings")
    op.drop_index("ix_escrow_holdings_batch_id", table_name="escrow_holdings")
    op.drop_table("escrow_holdings")
    op.drop_index("ix_mint_batches_state", table_name="mint_batches")
    op.drop_table("mint_batches")
