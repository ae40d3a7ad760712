"""Carbon registry outbox: chain events waiting to be reported to the national registry exactly once.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-22 11:43:49.721874
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | Sequence[str] | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Applies the change."""
    op.create_table(
        "carbon_registry_outbox",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("idempotency_key", sa.String(length=255), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("claim_token", sa.String(length=64), nullable=True),
        sa.Column("claimed_by", sa.String(length=128), nullable=True),
        sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("result", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "kind IN ('retirement', 'bridge_back')", name=op.f("ck_carbon_registry_outbox_kind_valid")
        ),
        sa.CheckConstraint(
            "status IN ('pending', 'sending', 'sent', 'failed')",
            name=op.f("ck_carbon_registry_outbox_status_valid"),
        ),
        sa.CheckConstraint("attempts >= 0", name=op.f("ck_carbon_registry_outbox_attempts_valid")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_carbon_registry_outbox")),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_carbon_registry_outbox_idempotency_key")),
    )
    with op.batch_alter_table("carbon_registry_outbox", schema=None) as batch_op:
        batch_op.create_index(
            "ix_carbon_registry_outbox_status_next_attempt_at", ["status", "next_attempt_at"], unique=False
        )


def downgrade() -> None:
    """Reverts the change."""
    with op.batch_alter_table("carbon_registry_outbox", schema=None) as batch_op:
        batch_op.drop_index("ix_carbon_registry_outbox_status_next_attempt_at")

    op.drop_table("carbon_registry_outbox")
