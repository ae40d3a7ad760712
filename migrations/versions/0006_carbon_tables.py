"""Indexer tables derived from CarbonCredits.

``carbon_projects``, ``carbon_vintages``, ``carbon_balances`` (ERC-1155, the contract's custody
included), ``carbon_retirements`` (certificates) and ``carbon_bridge_requests`` (see
``indexer.models``).

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-22
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import common.sql.types

revision: str = "0006"
down_revision: str | Sequence[str] | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Applies the change."""
    op.create_table(
        "carbon_projects",
        sa.Column("carbon", sa.String(length=42), nullable=False),
        sa.Column("project_key", common.sql.types.Uint256(), nullable=False),
        sa.Column("registry_id", sa.Text(), nullable=False),
        sa.Column("project_type", sa.String(length=16), nullable=False),
        sa.Column("standard", sa.String(length=16), nullable=False),
        sa.Column("location", sa.Text(), nullable=False),
        sa.Column("registered_block", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("carbon", "project_key", name=op.f("pk_carbon_projects")),
    )
    op.create_table(
        "carbon_vintages",
        sa.Column("carbon", sa.String(length=42), nullable=False),
        sa.Column("token_id", common.sql.types.Uint256(), nullable=False),
        sa.Column("project_key", common.sql.types.Uint256(), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("verified_tonnes", common.sql.types.Uint256(), nullable=False),
        sa.Column("documents_sha256", common.sql.types.HexBytes(), nullable=False),
        sa.Column("documents_cid", sa.Text(), nullable=False),
        sa.Column("metadata_cid", sa.Text(), nullable=False),
        sa.Column("issued", common.sql.types.Uint256(), nullable=False),
        sa.Column("retired", common.sql.types.Uint256(), nullable=False),
        sa.Column("bridged", common.sql.types.Uint256(), nullable=False),
        sa.Column("held_for_bridge", common.sql.types.Uint256(), nullable=False),
        sa.Column("verified_block", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("carbon", "token_id", name=op.f("pk_carbon_vintages")),
    )
    with op.batch_alter_table("carbon_vintages", schema=None) as batch_op:
        batch_op.create_index(
            "ix_carbon_vintages_carbon_project_key", ["carbon", "project_key"], unique=False
        )

    op.create_table(
        "carbon_balances",
        sa.Column("carbon", sa.String(length=42), nullable=False),
        sa.Column("token_id", common.sql.types.Uint256(), nullable=False),
        sa.Column("holder", sa.String(length=42), nullable=False),
        sa.Column("balance", common.sql.types.Uint256(), nullable=False),
        sa.PrimaryKeyConstraint("carbon", "token_id", "holder", name=op.f("pk_carbon_balances")),
    )
    with op.batch_alter_table("carbon_balances", schema=None) as batch_op:
        batch_op.create_index("ix_carbon_balances_carbon_holder", ["carbon", "holder"], unique=False)

    op.create_table(
        "carbon_retirements",
        sa.Column("carbon", sa.String(length=42), nullable=False),
        sa.Column("certificate_id", common.sql.types.Uint256(), nullable=False),
        sa.Column("token_id", common.sql.types.Uint256(), nullable=False),
        sa.Column("beneficiary", sa.String(length=42), nullable=False),
        sa.Column("retired_by", sa.String(length=42), nullable=False),
        sa.Column("tonnes", common.sql.types.Uint256(), nullable=False),
        sa.Column("beneficiary_name", sa.Text(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("period_start", sa.BigInteger(), nullable=False),
        sa.Column("period_end", sa.BigInteger(), nullable=False),
        sa.Column("block_number", sa.BigInteger(), nullable=False),
        sa.Column("tx_hash", common.sql.types.HexBytes(), nullable=False),
        sa.PrimaryKeyConstraint("carbon", "certificate_id", name=op.f("pk_carbon_retirements")),
    )
    with op.batch_alter_table("carbon_retirements", schema=None) as batch_op:
        batch_op.create_index("ix_carbon_retirements_block_number", ["block_number"], unique=False)
        batch_op.create_index(
            "ix_carbon_retirements_carbon_beneficiary", ["carbon", "beneficiary"], unique=False
        )

    op.create_table(
        "carbon_bridge_requests",
        sa.Column("carbon", sa.String(length=42), nullable=False),
        sa.Column("request_id", common.sql.types.Uint256(), nullable=False),
        sa.Column("token_id", common.sql.types.Uint256(), nullable=False),
        sa.Column("holder", sa.String(length=42), nullable=False),
        sa.Column("tonnes", common.sql.types.Uint256(), nullable=False),
        sa.Column("registry_account", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("registry_reference", sa.Text(), nullable=True),
        sa.Column("refusal_reason", sa.Text(), nullable=True),
        sa.Column("requested_block", sa.BigInteger(), nullable=False),
        sa.Column("resolved_block", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("carbon", "request_id", name=op.f("pk_carbon_bridge_requests")),
    )
    with op.batch_alter_table("carbon_bridge_requests", schema=None) as batch_op:
        batch_op.create_index("ix_carbon_bridge_requests_carbon_status", ["carbon", "status"], unique=False)


def downgrade() -> None:
    """Reverts the change."""
    with op.batch_alter_table("carbon_bridge_requests", schema=None) as batch_op:
        batch_op.drop_index("ix_carbon_bridge_requests_carbon_status")

    op.drop_table("carbon_bridge_requests")
    with op.batch_alter_table("carbon_retirements", schema=None) as batch_op:
        batch_op.drop_index("ix_carbon_retirements_carbon_beneficiary")
        batch_op.drop_index("ix_carbon_retirements_block_number")

    op.drop_table("carbon_retirements")
    with op.batch_alter_table("carbon_balances", schema=None) as batch_op:
        batch_op.drop_index("ix_carbon_balances_carbon_holder")

    op.drop_table("carbon_balances")
    with op.batch_alter_table("carbon_vintages", schema=None) as batch_op:
        batch_op.drop_index("ix_carbon_vintages_carbon_project_key")

    op.drop_table("carbon_vintages")
    op.drop_table("carbon_projects")
