"""Merchants can be suspended: ``merchants.status`` and its history.

* ``merchants.status``: ``active`` (every existing merchant) or ``suspended``.
* ``merchant_status_history``: one row per move, with the operator's key and the reason.

Revision ID: 0022
Revises: 0021
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from common.sql.helpers import UtcDateTime

revision: str = "0022"
down_revision: str | Sequence[str] | None = "0021"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Adds the column (existing merchants are active) and the history table."""
    op.add_column(
        "merchants", sa.Column("status", sa.String(length=16), server_default="active", nullable=False)
    )
    op.create_table(
        "merchant_status_history",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("merchant_id", sa.Uuid(), nullable=False),
        sa.Column("from_status", sa.String(length=16), nullable=False),
        sa.Column("to_status", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("api_key_id", sa.Uuid(), nullable=False),
        sa.Column("at", UtcDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["merchant_id"],
            ["merchants.id"],
            name=op.f("fk_merchant_status_history_merchant_id_merchants"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_merchant_status_history")),
    )
    op.create_index("ix_merchant_status_history_merchant_id", "merchant_status_history", ["merchant_id"])


def downgrade() -> None:
    """Drops the history table and the column."""
    op.drop_index("ix_merchant_status_history_merchant_id", table_name="merchant_status_history")
    op.drop_table("merchant_status_history")
    with op.batch_alter_table("merchants") as batch:
        batch.drop_column("status")
