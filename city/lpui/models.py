"""The ``lpui_daily`` table: one row per kelurahan and Asia/Jakarta day, with the index's inputs.

Every figure is an integer, so it is exact and portable:

* ``tx_count`` / ``tx_value_sen``: settled payments (count, and Rupiah sen) in the trailing
  window ending on ``day`` (``window_days`` days including ``day``).
* ``avg_count_milli``: the window's average daily count x 1000, rounded half up (display).
* ``avg_value_sen``: the window's average daily value in sen, rounded half up (display).
* ``index_bp``: LPUI in basis points (0..10000), rounded half up from the exact fraction computed
  from the unrounded averages (:mod:`city.lpui.compute`). NULL only for the ``unknown`` row:
  payments of merchants whose kelurahan is not one of the city's are stored under that code so
  they are visible, but they are not a kelurahan and take no part in the normalisation.
* ``weight_count_bp`` / ``weight_value_bp``: the weights used, in basis points.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import BigInteger, Date, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from common.sql.base import Base
from common.sql.helpers import BigId, UtcDateTime

UNKNOWN_CODE = "unknown"
"""``kelurahan_code`` of payments whose merchant's kelurahan is not one of the city's."""


class LpuiDaily(Base):
    """The LPUI of one kelurahan on one day, and what it was computed from."""

    __tablename__ = "lpui_daily"
    __table_args__ = (UniqueConstraint("kelurahan_code", "day"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    kelurahan_code: Mapped[str] = mapped_column(String(32), nullable=False)
    day: Mapped[date] = mapped_column(Date, nullable=False, doc="Asia/Jakarta calendar day.")
    window_days: Mapped[int] = mapped_column(Integer, nullable=False)
    tx_count: Mapped[int] = mapped_column(BigInteger, nullable=False)
    tx_value_sen: Mapped[int] = mapped_column(BigInteger, nullable=False)
    avg_count_milli: Mapped[int] = mapped_column(BigInteger, nullable=False)
    avg_value_sen: Mapped[int] = mapped_column(BigInteger, nullable=False)
    index_bp: Mapped[int | None] = mapped_column(Integer, nullable=True)
    weight_count_bp: Mapped[int] = mapped_column(Integer, nullable=False)
    weight_value_bp: Mapped[int] = mapped_column(Integer, nullable=False)
    computed_at: Mapped[datetime] = mapped_column(UtcDateTime, nullable=False)
