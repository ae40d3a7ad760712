"""The monthly public report, stored write-once (``monthly_reports``, :mod:`audit.monthly.models`).

Revision ID: 0034
Revises: 0030
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from common.sql.helpers import BigId, UtcDateTime

revision: str = "0034"
down_revision: str | Sequence[str] | None = "0030"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Creates ``monthly_reports``."""
    op.create_table(
        "monthly_reports",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("month", sa.String(length=7), nullable=False),
        sa.Column("end_block_number", sa.BigInteger(), nullable=False),
        sa.Column("end_block_hash", sa.String(length=66), nullable=False),
        sa.Column("end_block_timestamp", sa.BigInteger(), nullable=False),
        sa.Column("figures", sa.Text(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_monthly_reports")),
        sa.UniqueConstraint("month", name=op.f("uq_monthly_reports_month")),
    )


def downgrade() -> None:
    """Drops ``monthly_reports``."""
    op.drop_table("monthly_reports")
