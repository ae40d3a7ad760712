"""Joins the six feature branches that grew from 0006 in parallel into one history.

Pi flow (0007), minting (0008), webhooks (0009), audit (0010), market book (0011) and the market
mirror (0012) touch disjoint tables, so the merge itself changes nothing.

Revision ID: 0013
Revises: 0007, 0008, 0009, 0010, 0011, 0012
"""

from __future__ import annotations

from collections.abc import Sequence

revision: str = "0013"
down_revision: str | Sequence[str] | None = ("0007", "0008", "0009", "0010", "0011", "0012")
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Nothing to do: the branches' tables are independent."""


def downgrade() -> None:
    """Nothing to undo."""
