"""The command centre's forecasts (:mod:`city.forecast.models`).

Revision ID: 0031
Revises: 0030
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from common.sql.helpers import BigId, UtcDateTime

revision: str = "0031"
down_revision: str | Sequence[str] | None = "0030"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CHILDREN = ("forecast_series", "forecast_points", "forecast_totals", "forecast_errors")


def _child(name: str, *columns: sa.Column[object], unique: tuple[str, ...]) -> None:
    op.create_table(
        name,
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("run_id", BigId, nullable=False),
        sa.Column("kelurahan_code", sa.String(length=32), nullable=False),
        *columns,
        sa.ForeignKeyConstraint(
            ["run_id"], ["forecast_runs.id"], name=op.f(f"fk_{name}_run_id_forecast_runs")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{name}")),
        sa.UniqueConstraint(*unique, name=op.f(f"uq_{name}_{'_'.join(unique)}")),
    )


def upgrade() -> None:
    """Creates ``forecast_runs`` and its four child tables."""
    op.create_table(
        "forecast_runs",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("computed_at", UtcDateTime(), nullable=False),
        sa.Column("history_first", sa.Date(), nullable=False),
        sa.Column("history_last", sa.Date(), nullable=False),
        sa.Column("model", sa.String(length=400), nullable=False),
        sa.Column("horizon_days", sa.Integer(), nullable=False),
        sa.Column("interval_percent", sa.Integer(), nullable=False),
        sa.Column("backtest_origins", sa.Integer(), nullable=False),
        sa.Column("backtest_horizon_days", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_forecast_runs")),
        sa.UniqueConstraint(
            "history_first", "history_last", name=op.f("uq_forecast_runs_history_first_history_last")
        ),
    )
    _child(
        "forecast_series",
        sa.Column("history_first", sa.Date(), nullable=True),
        sa.Column("history_days", sa.Integer(), nullable=False),
        sa.Column("method", sa.String(length=200), nullable=True),
        sa.Column("skipped_reason", sa.String(length=300), nullable=True),
        unique=("run_id", "kelurahan_code"),
    )
    _child(
        "forecast_points",
        sa.Column("metric", sa.String(length=8), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("point", sa.BigInteger(), nullable=False),
        sa.Column("lo80", sa.BigInteger(), nullable=False),
        sa.Column("hi80", sa.BigInteger(), nullable=False),
        unique=("run_id", "kelurahan_code", "metric", "day"),
    )
    _child(
        "forecast_totals",
        sa.Column("metric", sa.String(length=8), nullable=False),
        sa.Column("horizon_days", sa.Integer(), nullable=False),
        sa.Column("point", sa.BigInteger(), nullable=False),
        sa.Column("lo80", sa.BigInteger(), nullable=False),
        sa.Column("hi80", sa.BigInteger(), nullable=False),
        unique=("run_id", "kelurahan_code", "metric", "horizon_days"),
    )
    _child(
        "forecast_errors",
        sa.Column("metric", sa.String(length=8), nullable=False),
        sa.Column("method", sa.String(length=8), nullable=False),
        sa.Column("mase_bp", sa.BigInteger(), nullable=True),
        sa.Column("mape_bp", sa.BigInteger(), nullable=True),
        sa.Column("mae", sa.BigInteger(), nullable=False),
        sa.Column("origins", sa.Integer(), nullable=False),
        unique=("run_id", "kelurahan_code", "metric", "method"),
    )


def downgrade() -> None:
    """Drops the forecast tables."""
    for name in CHILDREN:
        op.drop_table(name)
    op.drop_table("forecast_runs")
