"""``monthly_reports``: each month's report, stored once and never changed.

The figures are the report's canonical JSON (:func:`audit.monthly.figures.canonical_json`) with
its sha256, so anyone holding the JSON can check it is the one published.
``migrations/versions/0034_monthly_reports.py`` creates the table; ``migrations/env.py`` lists
this module.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from common.sql.base import Base
from common.sql.helpers import BigId, UtcDateTime


class MonthlyReportRow(Base):
    """One month's report as published."""

    __tablename__ = "monthly_reports"
    __table_args__ = (UniqueConstraint("month"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    month: Mapped[str] = mapped_column(String(7), nullable=False, doc="YYYY-MM (Asia/Jakarta).")
    end_block_number: Mapped[int] = mapped_column(BigInteger, nullable=False)
    end_block_hash: Mapped[str] = mapped_column(String(66), nullable=False)
    end_block_timestamp: Mapped[int] = mapped_column(BigInteger, nullable=False, doc="Unix seconds.")
    figures: Mapped[str] = mapped_column(Text, nullable=False, doc="Canonical JSON of the report.")
    sha256: Mapped[str] = mapped_column(String(64), nullable=False, doc="Hex sha256 of ``figures``.")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, nullable=False)
