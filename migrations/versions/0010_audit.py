"""Audit tables: anomaly flags, scans and account activity; reconciliation runs and their checks.

See ``audit.store.models``.

Revision ID: 0010
Revises: 0006
Create Date: 2026-11-22
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | Sequence[str] | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    """Applies the change."""
    op.create_table(
        "anomaly_flags",
        sa.Column("id", sa.String(length=80), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("source", sa.String(length=64), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("tx_hashes", sa.JSON(), nullable=False),
        sa.Column("accounts", sa.JSON(), nullable=False),
        sa.Column("evidence", sa.JSON(), nullable=False),
        sa.Column("block_number", sa.BigInteger(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reviewed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reviewed_by", sa.String(length=128), nullable=True),
        sa.CheckConstraint(
            "status IN ('open', 'confirmed', 'dismissed')", name=op.f("ck_anomaly_flags_status_known")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_anomaly_flags")),
    )
    with op.batch_alter_table("anomaly_flags", schema=None) as batch_op:
        batch_op.create_index("ix_anomaly_flags_status_created_at", ["status", "created_at"], unique=False)

    op.create_table(
        "anomaly_scans",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("from_block", sa.BigInteger(), nullable=False),
        sa.Column("to_block", sa.BigInteger(), nullable=False),
        sa.Column("trades", sa.BigInteger(), nullable=False),
        sa.Column("flags", sa.BigInteger(), nullable=False),
        sa.Column("model_version", sa.String(length=64), nullable=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_anomaly_scans")),
    )
    op.create_table(
        "anomaly_accounts",
        sa.Column("account", sa.String(length=64), nullable=False),
        sa.Column("last_ts", sa.BigInteger(), nullable=False),
        sa.Column("last_block", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("account", name=op.f("pk_anomaly_accounts")),
    )
    op.create_table(
        "reconciliation_runs",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("block", sa.BigInteger(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ok", sa.Boolean(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reconciliation_runs")),
    )
    with op.batch_alter_table("reconciliation_runs", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_reconciliation_runs_block"), ["block"], unique=False)

    op.create_table(
        "reconciliation_checks",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("run_id", BIG_ID, nullable=False),
        sa.Column("block_number", sa.BigInteger(), nullable=False),
        sa.Column("check", sa.String(length=64), nullable=False),
        sa.Column("subject", sa.String(length=128), nullable=False),
        sa.Column("ok", sa.Boolean(), nullable=False),
        sa.Column("expected", sa.Text(), nullable=False),
        sa.Column("actual", sa.Text(), nullable=False),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["reconciliation_runs.id"],
            name=op.f("fk_reconciliation_checks_run_id_reconciliation_runs"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reconciliation_checks")),
    )
    with op.batch_alter_table("reconciliation_checks", schema=None) as batch_op:
        batch_op.create_index(
            "ix_reconciliation_checks_check_block_number", ["check", "block_number"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_reconciliation_checks_run_id"), ["run_id"], unique=False)


def downgrade() -> None:
    """Reverts the change."""
    op.drop_table("reconciliation_checks")
    op.drop_table("reconciliation_runs")
    op.drop_table("anomaly_accounts")
    op.drop_table("anomaly_scans")
    op.drop_table("anomaly_flags")
