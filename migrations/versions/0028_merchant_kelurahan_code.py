"""Merchants carry their kelurahan's Kemendagri code, and simulated merchants are marked.

* ``merchants.kelurahan_code``: the code of the merchant's kelurahan (``35.77.03.1009``), nullable.
  Existing rows whose ``kelurahan`` names one of the city's (in any case, spacing or hyphenation)
  get its code and its official spelling; the others keep their text and a null code.
* ``merchants.simulated``: ``true`` for merchants the pilot simulator made (``launcher/pilot.py``);
  every existing merchant is real (``false``).

Revision ID: 0028
Revises: 0026
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from city.kelurahan import UnknownKelurahanError, lookup

revision: str = "0028"
down_revision: str | Sequence[str] | None = "0026"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_merchants = sa.table(
    "merchants",
    sa.column("id", sa.Uuid()),
    sa.column("kelurahan", sa.String()),
    sa.column("kelurahan_code", sa.String()),
)


def upgrade() -> None:
    """Adds both columns and backfills the codes of the rows whose kelurahan is recognised."""
    with op.batch_alter_table("merchants") as batch:
        batch.add_column(sa.Column("kelurahan_code", sa.String(length=13), nullable=True))
        batch.add_column(sa.Column("simulated", sa.Boolean(), server_default=sa.false(), nullable=False))
    conn = op.get_bind()
    for merchant_id, given in conn.execute(sa.select(_merchants.c.id, _merchants.c.kelurahan)).all():
        try:
            place = lookup(given)
        except UnknownKelurahanError:
            continue
        conn.execute(
            _merchants.update()
            .where(_merchants.c.id == merchant_id)
            .values(kelurahan=place.name, kelurahan_code=place.code)
        )


def downgrade() -> None:
    """Drops both columns (the official spellings written by the backfill stay)."""
    with op.batch_alter_table("merchants") as batch:
        batch.drop_column("simulated")
        batch.drop_column("kelurahan_code")
