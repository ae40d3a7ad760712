"""The forecast tables: one row per run, and per run its series, daily paths, totals and errors.

Every figure is an integer, so it is exact and portable: a count forecast is in
milli-transactions (transactions x 1000), a value forecast in sen, both rounded half up; backtest
errors are in basis points (MASE x 10,000; MAPE as a fraction x 10,000).
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import BigInteger, Date, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from common.sql.base import Base
from common.sql.helpers import BigId, UtcDateTime

CITY_CODE = "city"
"""``kelurahan_code`` of the whole city's series (every settled payment, whatever its kelurahan)."""


class ForecastRun(Base):
    """One computation: what history it used and how it forecast."""

    __tablename__ = "forecast_runs"
    __table_args__ = (UniqueConstraint("history_first", "history_last"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    computed_at: Mapped[datetime] = mapped_column(UtcDateTime, nullable=False)
    history_first: Mapped[date] = mapped_column(Date, nullable=False, doc="First Jakarta day read.")
    history_last: Mapped[date] = mapped_column(Date, nullable=False, doc="Last Jakarta day read (as of).")
    model: Mapped[str] = mapped_column(String(400), nullable=False, doc="The model, in words.")
    horizon_days: Mapped[int] = mapped_column(Integer, nullable=False)
    interval_percent: Mapped[int] = mapped_column(Integer, nullable=False)
    backtest_origins: Mapped[int] = mapped_column(Integer, nullable=False, doc="Origins at most.")
    backtest_horizon_days: Mapped[int] = mapped_column(Integer, nullable=False)


class ForecastSeries(Base):
    """One kelurahan's (or the city's) series in a run: forecast, or skipped with the reason."""

    __tablename__ = "forecast_series"
    __table_args__ = (UniqueConstraint("run_id", "kelurahan_code"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    run_id: Mapped[int] = mapped_column(BigId, ForeignKey("forecast_runs.id"), nullable=False)
    kelurahan_code: Mapped[str] = mapped_column(String(32), nullable=False)
    history_first: Mapped[date | None] = mapped_column(
        Date, nullable=True, doc="Its first day with a settled payment (its history starts there)."
    )
    history_days: Mapped[int] = mapped_column(Integer, nullable=False)
    method: Mapped[str | None] = mapped_column(String(200), nullable=True, doc="NULL when skipped.")
    skipped_reason: Mapped[str | None] = mapped_column(String(300), nullable=True)


class ForecastPoint(Base):
    """One forecast day of one series and metric: the point and its 80% interval."""

    __tablename__ = "forecast_points"
    __table_args__ = (UniqueConstraint("run_id", "kelurahan_code", "metric", "day"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    run_id: Mapped[int] = mapped_column(BigId, ForeignKey("forecast_runs.id"), nullable=False)
    kelurahan_code: Mapped[str] = mapped_column(String(32), nullable=False)
    metric: Mapped[str] = mapped_column(String(8), nullable=False, doc="count (milli) or value (sen).")
    day: Mapped[date] = mapped_column(Date, nullable=False)
    point: Mapped[int] = mapped_column(BigInteger, nullable=False)
    lo80: Mapped[int] = mapped_column(BigInteger, nullable=False)
    hi80: Mapped[int] = mapped_column(BigInteger, nullable=False)


class ForecastTotal(Base):
    """The forecast total over the first ``horizon_days`` days (30, 60, 90) with its 80% interval
    (the point is the sum of the stored daily points; the interval comes from simulated paths)."""

    __tablename__ = "forecast_totals"
    __table_args__ = (UniqueConstraint("run_id", "kelurahan_code", "metric", "horizon_days"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    run_id: Mapped[int] = mapped_column(BigId, ForeignKey("forecast_runs.id"), nullable=False)
    kelurahan_code: Mapped[str] = mapped_column(String(32), nullable=False)
    metric: Mapped[str] = mapped_column(String(8), nullable=False)
    horizon_days: Mapped[int] = mapped_column(Integer, nullable=False)
    point: Mapped[int] = mapped_column(BigInteger, nullable=False)
    lo80: Mapped[int] = mapped_column(BigInteger, nullable=False)
    hi80: Mapped[int] = mapped_column(BigInteger, nullable=False)


class ForecastError(Base):
    """Backtest errors of the model or of the seasonal-naive baseline on one series and metric.

    ``mase_bp`` is NULL when the scale (the in-sample seasonal-naive error) is 0, ``mape_bp`` when
    no backtested day had a non-zero actual; ``mae`` is in the metric's unit (milli or sen).
    """

    __tablename__ = "forecast_errors"
    __table_args__ = (UniqueConstraint("run_id", "kelurahan_code", "metric", "method"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    run_id: Mapped[int] = mapped_column(BigId, ForeignKey("forecast_runs.id"), nullable=False)
    kelurahan_code: Mapped[str] = mapped_column(String(32), nullable=False)
    metric: Mapped[str] = mapped_column(String(8), nullable=False)
    method: Mapped[str] = mapped_column(String(8), nullable=False, doc="model or baseline.")
    mase_bp: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    mape_bp: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    mae: Mapped[int] = mapped_column(BigInteger, nullable=False)
    origins: Mapped[int] = mapped_column(Integer, nullable=False)
