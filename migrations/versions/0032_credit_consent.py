"""The consent registry of issue #15 (:mod:`city.credit.models`) and lender API keys.

``credit_lenders``, ``credit_consents`` (partial unique indexes: one active grant per merchant,
purpose and lender) and the append-only ``credit_consent_events``; ``api_keys``
gains ``lender_id`` (set exactly for keys of role ``lender``).

Revision ID: 0032
Revises: 0030
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from common.sql.helpers import BigId, UtcDateTime

revision: str = "0032"
down_revision: str | Sequence[str] | None = "0030"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Creates the consent tables and links API keys to lenders."""
    op.create_table(
        "credit_lenders",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_credit_lenders")),
        sa.UniqueConstraint("name", name=op.f("uq_credit_lenders_name")),
    )
    op.create_table(
        "credit_consents",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("merchant_id", sa.Uuid(), nullable=False),
        sa.Column("purpose", sa.String(length=16), nullable=False),
        sa.Column("lender_id", sa.Uuid(), nullable=True),
        sa.Column("granted_at", UtcDateTime(), nullable=False),
        sa.Column("granted_by", sa.String(length=80), nullable=False),
        sa.Column("revoked_at", UtcDateTime(), nullable=True),
        sa.Column("revoked_by", sa.String(length=80), nullable=True),
        sa.ForeignKeyConstraint(
            ["merchant_id"], ["merchants.id"], name=op.f("fk_credit_consents_merchant_id_merchants")
        ),
        sa.ForeignKeyConstraint(
            ["lender_id"], ["credit_lenders.id"], name=op.f("fk_credit_consents_lender_id_credit_lenders")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_credit_consents")),
    )
    op.create_index(op.f("ix_credit_consents_merchant_id"), "credit_consents", ["merchant_id"])
    scoring = sa.text("purpose = 'scoring' AND revoked_at IS NULL")
    sharing = sa.text("purpose = 'sharing' AND revoked_at IS NULL")
    op.create_index(
        "uq_credit_consents_active_scoring",
        "credit_consents",
        ["merchant_id"],
        unique=True,
        sqlite_where=scoring,
        postgresql_where=scoring,
    )
    op.create_index(
        "uq_credit_consents_active_sharing",
        "credit_consents",
        ["merchant_id", "lender_id"],
        unique=True,
        sqlite_where=sharing,
        postgresql_where=sharing,
    )
    op.create_table(
        "credit_consent_events",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("merchant_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("purpose", sa.String(length=16), nullable=False),
        sa.Column("lender_id", sa.Uuid(), nullable=True),
        sa.Column("consent_id", sa.Uuid(), nullable=True),
        sa.Column("actor", sa.String(length=80), nullable=False),
        sa.Column("at", UtcDateTime(), nullable=False),
        sa.Column("what", sa.String(length=200), nullable=True),
        sa.ForeignKeyConstraint(
            ["merchant_id"], ["merchants.id"], name=op.f("fk_credit_consent_events_merchant_id_merchants")
        ),
        sa.ForeignKeyConstraint(
            ["lender_id"],
            ["credit_lenders.id"],
            name=op.f("fk_credit_consent_events_lender_id_credit_lenders"),
        ),
        sa.ForeignKeyConstraint(
            ["consent_id"],
            ["credit_consents.id"],
            name=op.f("fk_credit_consent_events_consent_id_credit_consents"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_credit_consent_events")),
    )
    op.create_index(op.f("ix_credit_consent_events_merchant_id"), "credit_consent_events", ["merchant_id"])
    with op.batch_alter_table("api_keys") as batch:
        batch.add_column(sa.Column("lender_id", sa.Uuid(), nullable=True))
        batch.create_foreign_key(
            op.f("fk_api_keys_lender_id_credit_lenders"), "credit_lenders", ["lender_id"], ["id"]
        )
        batch.create_check_constraint(
            op.f("ck_api_keys_lender_key_has_lender"), "(role = 'lender') = (lender_id IS NOT NULL)"
        )


def downgrade() -> None:
    """Drops the lender link of API keys and the consent tables."""
    with op.batch_alter_table("api_keys") as batch:
        batch.drop_constraint(op.f("ck_api_keys_lender_key_has_lender"), type_="check")
        batch.drop_constraint(op.f("fk_api_keys_lender_id_credit_lenders"), type_="foreignkey")
        batch.drop_column("lender_id")
    op.drop_index(op.f("ix_credit_consent_events_merchant_id"), table_name="credit_consent_events")
    op.drop_table("credit_consent_events")
    op.drop_index("uq_credit_consents_active_sharing", table_name="credit_consents")
    op.drop_index("uq_credit_consents_active_scoring", table_name="credit_consents")
    op.drop_index(op.f("ix_credit_consents_merchant_id"), table_name="credit_consents")
    op.drop_table("credit_consents")
    op.drop_table("credit_lenders")
