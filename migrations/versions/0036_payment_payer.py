"""Payments keep the Pi user who paid them (``payments.payer_uid``).

Pi's record of a payment names its payer (``user_uid``, an id scoped to this app); the settlement
flow stores it when it verifies the payment, in the same transaction as the credit. The
command centre counts distinct payers (the monthly report's "active payers", the LDCI's customer
diversity) from it; nothing else reads it. Existing rows keep a null payer (not known).

Revision ID: 0036
Revises: 0035
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0036"
down_revision: str | Sequence[str] | None = "0035"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Adds the nullable column."""
    with op.batch_alter_table("payments") as batch:
        batch.add_column(sa.Column("payer_uid", sa.String(length=128), nullable=True))


def downgrade() -> None:
    """Drops it."""
    with op.batch_alter_table("payments") as batch:
        batch.drop_column("payer_uid")
