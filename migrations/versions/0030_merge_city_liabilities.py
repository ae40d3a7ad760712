"""Joins the branches that grew from 0026 in parallel into one history.

The proof of liabilities' snapshots and leaves (0027), the merchants' Kemendagri kelurahan code and
simulated flag (0028) and the daily LPUI per kelurahan (0029) touch disjoint tables and columns, so
the merge itself changes nothing.

Revision ID: 0030
Revises: 0027, 0028, 0029
"""

from __future__ import annotations

from collections.abc import Sequence

revision: str = "0030"
down_revision: str | Sequence[str] | None = ("0027", "0028", "0029")
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Nothing to do: the branches' tables are independent."""


def downgrade() -> None:
    """Nothing to undo."""
