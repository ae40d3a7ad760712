"""Reads the latest stored forecast run for the API and the explorer page (never recomputes)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from city.forecast.compute import METRICS, UNIT
from city.forecast.models import (
    CITY_CODE,
    ForecastError,
    ForecastPoint,
    ForecastRun,
    ForecastSeries,
    ForecastTotal,
)
from city.kelurahan import BY_CODE, CITY_NAME, UnknownKelurahanError, lookup
from city.lpui.compute import daily_totals, days
from common.errors import NotFoundError


class NoForecastError(NotFoundError):
    """No forecast run is stored yet."""

    code = "forecast_not_computed"


@dataclass(frozen=True)
class Band:
    """A point and its 80% interval, in the metric's stored unit (milli or sen)."""

    point: int
    lo80: int
    hi80: int

    def as_json(self) -> dict[str, int]:
        """Exact integers."""
        return {"point": self.point, "lo80": self.lo80, "hi80": self.hi80}


@dataclass(frozen=True)
class MethodErrors:
    """One method's backtest errors (basis points; MAE in the metric's unit)."""

    mase_bp: int | None
    mape_bp: int | None
    mae: int
    origins: int

    def as_json(self) -> dict[str, int | None]:
        """Exact integers (null: undefined, see :class:`city.forecast.models.ForecastError`)."""
        return {"mase_bp": self.mase_bp, "mape_bp": self.mape_bp, "mae": self.mae, "origins": self.origins}


@dataclass(frozen=True)
class MetricForecast:
    """One metric of one series: the daily path, the totals and the backtest."""

    days: list[tuple[date, Band]]
    totals: dict[int, Band]
    model: MethodErrors | None
    baseline: MethodErrors | None

    @property
    def beats_baseline(self) -> bool | None:
        """The model's mean backtest error is lower than the baseline's; None if not backtested."""
        if self.model is None or self.baseline is None:
            return None
        return self.model.mae < self.baseline.mae

    def as_json(self) -> dict[str, Any]:
        """Exact integers; days as ISO 8601."""
        return {
            "days": [{"day": d.isoformat(), **b.as_json()} for d, b in self.days],
            "totals": [{"horizon_days": h, **b.as_json()} for h, b in sorted(self.totals.items())],
            "backtest": {
                "model": self.model.as_json() if self.model else None,
                "baseline": self.baseline.as_json() if self.baseline else None,
                "beats_baseline": self.beats_baseline,
            },
        }


@dataclass(frozen=True)
class SeriesForecast:
    """A run's forecast of one kelurahan (or the city)."""

    run: ForecastRun
    code: str
    name: str
    history_first: date | None
    history_days: int
    skipped_reason: str | None
    metrics: dict[str, MetricForecast] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        """The run, the series and per metric (count in milli-transactions, value in sen)."""
        r = self.run
        return {
            "run": {
                "id": r.id,
                "computed_at": r.computed_at.isoformat(),
                "history_first": r.history_first.isoformat(),
                "history_last": r.history_last.isoformat(),
                "model": r.model,
                "horizon_days": r.horizon_days,
                "interval_percent": r.interval_percent,
                "backtest_origins": r.backtest_origins,
                "backtest_horizon_days": r.backtest_horizon_days,
            },
            "kelurahan_code": self.code,
            "kelurahan": self.name,
            "history_first": self.history_first.isoformat() if self.history_first else None,
            "history_days": self.history_days,
            "skipped_reason": self.skipped_reason,
            "units": {"count": "milli_transactions", "value": "sen"},
            "metrics": {m: f.as_json() for m, f in self.metrics.items()},
        }


def subject_code(given: str | None) -> str:
    """``city`` (the default) or the Kemendagri code of a kelurahan given by code or name.

    Raises:
        UnknownKelurahanError: not a kelurahan of the city.
    """
    if not given or given.strip().lower() == CITY_CODE:
        return CITY_CODE
    return lookup(given).code


def latest_run(session: Session) -> ForecastRun | None:
    """The most recent run (latest history, then latest computed)."""
    return session.scalars(
        select(ForecastRun).order_by(ForecastRun.history_last.desc(), ForecastRun.id.desc()).limit(1)
    ).first()


def _errors(session: Session, run_id: int, code: str) -> dict[tuple[str, str], MethodErrors]:
    rows = session.scalars(
        select(ForecastError).where(ForecastError.run_id == run_id, ForecastError.kelurahan_code == code)
    )
    return {(e.metric, e.method): MethodErrors(e.mase_bp, e.mape_bp, e.mae, e.origins) for e in rows}


def series_forecast(session: Session, code: str) -> SeriesForecast:
    """The latest run's forecast of ``code`` (``city`` or a kelurahan code).

    Raises:
        NoForecastError: no run is stored yet.
        UnknownKelurahanError: ``code`` is neither ``city`` nor a kelurahan of the city.
    """
    if code != CITY_CODE and code not in BY_CODE:
        raise UnknownKelurahanError(code)
    run = latest_run(session)
    if run is None:
        raise NoForecastError("no forecast has been computed yet")
    series = session.scalars(
        select(ForecastSeries).where(ForecastSeries.run_id == run.id, ForecastSeries.kelurahan_code == code)
    ).first()
    name = CITY_NAME if code == CITY_CODE else BY_CODE[code].name
    if series is None or series.skipped_reason is not None:
        reason = series.skipped_reason if series else "not in this run"
        first, length = (series.history_first, series.history_days) if series else (None, 0)
        return SeriesForecast(run, code, name, first, length, reason)
    points = session.scalars(
        select(ForecastPoint)
        .where(ForecastPoint.run_id == run.id, ForecastPoint.kelurahan_code == code)
        .order_by(ForecastPoint.day)
    ).all()
    totals = session.scalars(
        select(ForecastTotal).where(ForecastTotal.run_id == run.id, ForecastTotal.kelurahan_code == code)
    ).all()
    errors = _errors(session, run.id, code)
    metrics = {
        m: MetricForecast(
            days=[(p.day, Band(p.point, p.lo80, p.hi80)) for p in points if p.metric == m],
            totals={t.horizon_days: Band(t.point, t.lo80, t.hi80) for t in totals if t.metric == m},
            model=errors.get((m, "model")),
            baseline=errors.get((m, "baseline")),
        )
        for m in METRICS
    }
    return SeriesForecast(run, code, name, series.history_first, series.history_days, None, metrics)


def recent_history(
    session: Session, code: str, last: date, days_shown: int
) -> dict[str, list[tuple[date, int]]]:
    """The actual daily figures of ``code`` over the ``days_shown`` days ending on ``last``, in the
    stored units (count x 1000, sen), read from the books as the forecast read them."""
    first = last - timedelta(days=days_shown - 1)
    totals = daily_totals(session, first, last)
    result: dict[str, list[tuple[date, int]]] = {m: [] for m in METRICS}
    for day in days(first, last):
        if code == CITY_CODE:
            pairs = [v for (_, d), v in totals.items() if d == day]
            count, value = sum(p[0] for p in pairs), sum(p[1] for p in pairs)
        else:
            count, value = totals.get((code, day), (0, 0))
        result["count"].append((day, count * UNIT["count"]))
        result["value"].append((day, value * UNIT["value"]))
    return result
