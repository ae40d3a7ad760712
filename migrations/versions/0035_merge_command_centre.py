"""Joins the command centre's branches that grew from 0030 in parallel into one history.

Forecasts (0031), the consent registry and lender keys (0032), the daily LDCI (0033) and the
monthly public reports (0034) touch disjoint tables (0032 adds ``api_keys.lender_id``, which no
other branch touches), so the merge itself changes nothing.

Revision ID: 0035
Revises: 0031, 0032, 0033, 0034
"""

from __future__ import annotations

from collections.abc import Sequence

revision: str = "0035"
down_revision: str | Sequence[str] | None = ("0031", "0032", "0033", "0034")
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Nothing to do: the branches' tables are independent."""


def downgrade() -> None:
    """Nothing to undo."""
