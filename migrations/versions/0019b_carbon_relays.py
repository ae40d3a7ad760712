"""Write-ahead records of relayed carbon retirements.

``carbon_relays`` (and its history): every retirement the API sends (``retireWithSig`` for a
holder, ``retire`` from the platform's custody account) is signed and committed here before it is
broadcast, so a retry of the same ``Idempotency-Key`` rebroadcasts the same transaction instead of
retiring twice.

Revision ID: 0019b
Revises: 0013
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import common.sql.helpers
import common.sql.types

revision: str = "0019b"
down_revision: str | Sequence[str] | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UtcDateTime = common.sql.helpers.UtcDateTime
Uint256 = common.sql.types.Uint256


def upgrade() -> None:
    """Applies the change."""
    op.create_table(
        "carbon_relays",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("api_key_id", sa.Uuid(), nullable=False),
        sa.Column("idempotency_key", sa.String(length=255), nullable=True),
        sa.Column("request_hash", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("holder", sa.String(length=42), nullable=False),
        sa.Column("token_id", Uint256(), nullable=False),
        sa.Column("tonnes", Uint256(), nullable=False),
        sa.Column("raw_tx", sa.Text(), nullable=False),
        sa.Column("tx_hash", sa.String(length=66), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("certificate_id", Uint256(), nullable=True),
        sa.Column("block_number", sa.BigInteger(), nullable=True),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
        sa.CheckConstraint("kind IN ('signed', 'custodial')", name=op.f("ck_carbon_relays_kind_known")),
        sa.CheckConstraint(
            "status IN ('pending', 'retired', 'failed')", name=op.f("ck_carbon_relays_status_known")
        ),
        sa.CheckConstraint(
            "(status = 'retired') = (certificate_id IS NOT NULL AND block_number IS NOT NULL)",
            name=op.f("ck_carbon_relays_retired_has_certificate"),
        ),
        sa.ForeignKeyConstraint(
            ["api_key_id"], ["api_keys.id"], name=op.f("fk_carbon_relays_api_key_id_api_keys")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_carbon_relays")),
        sa.UniqueConstraint(
            "api_key_id", "idempotency_key", name=op.f("uq_carbon_relays_api_key_id_idempotency_key")
        ),
        sa.UniqueConstraint("tx_hash", name=op.f("uq_carbon_relays_tx_hash")),
    )
    op.create_index("ix_carbon_relays_status", "carbon_relays", ["status", "updated_at"], unique=False)
    op.create_table(
        "carbon_relay_history",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("relay_id", sa.Uuid(), nullable=False),
        sa.Column("from_status", sa.String(length=16), nullable=False),
        sa.Column("to_status", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("at", UtcDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["relay_id"], ["carbon_relays.id"], name=op.f("fk_carbon_relay_history_relay_id_carbon_relays")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_carbon_relay_history")),
    )
    op.create_index("ix_carbon_relay_history_relay_id", "carbon_relay_history", ["relay_id"], unique=False)


def downgrade() -> None:
    """Reverts the change."""
    op.drop_index("ix_carbon_relay_history_relay_id", table_name="carbon_relay_history")
    op.drop_table("carbon_relay_history")
    op.drop_index("ix_carbon_relays_status", table_name="carbon_relays")
    op.drop_table("carbon_relays")
