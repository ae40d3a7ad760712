"""The command centre's LPUI per kelurahan and day (``lpui_daily``, :mod:`city.lpui.models`).

Revision ID: 0029
Revises: 0026
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from common.sql.helpers import BigId, UtcDateTime

revision: str = "0029"
down_revision: str | Sequence[str] | None = "0026"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Creates ``lpui_daily``."""
    op.create_table(
        "lpui_daily",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("kelurahan_code", sa.String(length=32), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("window_days", sa.Integer(), nullable=False),
        sa.Column("tx_count", sa.BigInteger(), nullable=False),
        sa.Column("tx_value_sen", sa.BigInteger(), nullable=False),
        sa.Column("avg_count_milli", sa.BigInteger(), nullable=False),
        sa.Column("avg_value_sen", sa.BigInteger(), nullable=False),
        sa.Column("index_bp", sa.Integer(), nullable=True),
        sa.Column("weight_count_bp", sa.Integer(), nullable=False),
        sa.Column("weight_value_bp", sa.Integer(), nullable=False),
        sa.Column("computed_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_lpui_daily")),
        sa.UniqueConstraint("kelurahan_code", "day", name=op.f("uq_lpui_daily_kelurahan_code_day")),
    )


def downgrade() -> None:
    """Drops ``lpui_daily``."""
    op.drop_table("lpui_daily")
