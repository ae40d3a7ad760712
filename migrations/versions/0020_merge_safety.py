"""Joins the branches that grew from 0013 in parallel into one history.

Redemption intents and mint write-ahead (0014), escrow books and the market archive indexes
(0016), payment requests for the checkout (0018) and carbon relays (0019b) touch disjoint tables,
so the merge itself changes nothing.

Revision ID: 0020
Revises: 0014, 0016, 0018, 0019b
"""

from __future__ import annotations

from collections.abc import Sequence

revision: str = "0020"
down_revision: str | Sequence[str] | None = ("0014", "0016", "0018", "0019b")
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Nothing to do: the branches' tables are independent."""


def downgrade() -> None:
    """Nothing to undo."""
