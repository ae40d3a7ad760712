"""Joins the merchant portal's branches that grew from 0022 in parallel into one history.

The portal's money tables (bank accounts on file, owner notices, custodial wallet moves: 0023),
merchant refunds (0024) and the Pi pay-backs of escrow refunds with the shared app-wallet slot
(0025) touch disjoint tables, so the merge itself changes nothing.

Revision ID: 0026
Revises: 0023, 0024, 0025
"""

from __future__ import annotations

from collections.abc import Sequence

revision: str = "0026"
down_revision: str | Sequence[str] | None = ("0023", "0024", "0025")
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Nothing to do: the branches' tables are independent."""


def downgrade() -> None:
    """Nothing to undo."""
