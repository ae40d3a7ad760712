"""The LDCI of consenting merchants per day (``ldci_daily``, :mod:`city.credit.ldci_models`).

Revision ID: 0033
Revises: 0030
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from common.sql.helpers import BigId, UtcDateTime

revision: str = "0033"
down_revision: str | Sequence[str] | None = "0030"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Creates ``ldci_daily``."""
    op.create_table(
        "ldci_daily",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("merchant_id", sa.Uuid(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("score", sa.Integer(), nullable=True),
        sa.Column("components", sa.Text(), nullable=False),
        sa.Column("formula_version", sa.String(length=16), nullable=False),
        sa.Column("computed_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ldci_daily")),
        sa.UniqueConstraint("merchant_id", "day", name=op.f("uq_ldci_daily_merchant_id_day")),
    )


def downgrade() -> None:
    """Drops ``ldci_daily``."""
    op.drop_table("ldci_daily")
