"""Runs the forecasts and their backtest from the books and stores them, in one transaction.

Input: settled payments per kelurahan and Asia/Jakarta day, exactly as the LPUI counts them
(:func:`city.lpui.compute.daily_totals`; days without payments are 0) over ``history_days``
days ending on ``as_of``. Each kelurahan's series starts on its first day with a settled payment
(the days before it are not "no sales", the kelurahan was not yet trading); the city's series is
every settled payment, whatever its kelurahan (``unknown`` included). A series with fewer than 14
days gets no forecast, only the reason. Otherwise: one 90-day path per metric (count, value) from
:func:`city.forecast.model.forecast`, stored per day (the 30- and 60-day forecasts are its
prefixes) with the totals of 30, 60 and 90 days, and the backtest errors of the model and the
baseline (:mod:`city.forecast.backtest`).

Storage (integers): counts in milli-transactions, values in sen, both rounded half up; errors in
basis points. Rerunning the same history (same first and last day) replaces that run, so the
computation is idempotent and safe to rerun after a crash.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from fractions import Fraction

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from city.forecast import backtest as bt
from city.forecast.model import DESCRIPTION, MIN_HISTORY_DAYS, Forecast, ModelFailedError, forecast
from city.forecast.models import (
    CITY_CODE,
    ForecastError,
    ForecastPoint,
    ForecastRun,
    ForecastSeries,
    ForecastTotal,
)
from city.kelurahan import KELURAHAN
from city.lpui.compute import check_range, daily_totals, days, round_half_up
from common.errors import ValidationError
from common.sql.helpers import utcnow

HORIZON_DAYS = 90
TOTAL_HORIZONS = (30, 60, 90)
INTERVAL_PERCENT = 80
DEFAULT_HISTORY_DAYS = 90
MAX_HISTORY_DAYS = 730
METRICS = ("count", "value")
UNIT = {"count": 1000, "value": 1}
"""Stored units per series unit: milli-transactions per transaction, sen per sen."""
CHILDREN = (ForecastSeries, ForecastPoint, ForecastTotal, ForecastError)


class InvalidHistoryError(ValidationError):
    """The asked history is too short or too long."""

    code = "invalid_forecast_history"


@dataclass(frozen=True)
class SeriesResult:
    """What a run found for one series: skipped with a reason, or the backtests per metric."""

    code: str
    history_days: int
    skipped_reason: str | None
    backtests: dict[str, bt.Backtest | None] = field(default_factory=dict)


@dataclass(frozen=True)
class RunSummary:
    """A stored run's id, history and per-series results."""

    run_id: int
    history_first: date
    history_last: date
    series: list[SeriesResult]


def to_stored(value: float, metric: str) -> int:
    """A non-negative float in the series' unit as the stored integer (rounded half up)."""
    return round_half_up(Fraction(max(value, 0.0)) * UNIT[metric])


def bp(value: Fraction | None) -> int | None:
    """A ratio in basis points, rounded half up."""
    return None if value is None else round_half_up(value * 10_000)


def series_of(
    totals: dict[tuple[str, date], tuple[int, int]], first: date, last: date
) -> dict[str, dict[str, list[int]]]:
    """Each kelurahan's and the city's daily (count, value) series over ``first`` .. ``last``,
    each starting on its first day with a settled payment (empty: none)."""
    span = days(first, last)
    codes = [k.code for k in KELURAHAN]
    result: dict[str, dict[str, list[int]]] = {}
    city = {d: [0, 0] for d in span}
    for (_code, day), (count, value) in totals.items():
        if day in city:
            city[day][0] += count
            city[day][1] += value
    for code in [*codes, CITY_CODE]:
        if code == CITY_CODE:
            pairs = [tuple(city[d]) for d in span]
        else:
            pairs = [totals.get((code, d), (0, 0)) for d in span]
        start = next((n for n, (count, _) in enumerate(pairs) if count), len(pairs))
        result[code] = {
            "count": [p[0] for p in pairs[start:]],
            "value": [p[1] for p in pairs[start:]],
        }
    return result


def _skip_reason(length: int) -> str | None:
    if length == 0:
        return "no settled payments in the history"
    if length < MIN_HISTORY_DAYS:
        return f"{length} days since its first settled payment; a forecast needs at least {MIN_HISTORY_DAYS}"
    return None


def _paths(history: dict[str, list[int]]) -> dict[str, Forecast]:
    """Each metric's 90-day path (one seed per metric, so a rerun draws the same intervals)."""
    return {
        metric: forecast([float(v) for v in history[metric]], HORIZON_DAYS, totals=TOTAL_HORIZONS, seed=seed)
        for seed, metric in enumerate(METRICS)
    }


def _store_series(
    session: Session, run_id: int, code: str, last: date, history: dict[str, list[int]]
) -> SeriesResult:
    length = len(history["count"])
    reason = _skip_reason(length)
    paths: dict[str, Forecast] = {}
    if reason is None:
        try:
            paths = _paths(history)
        except ModelFailedError as exc:  # stored as the reason: one odd series does not stop the run
            reason = exc.message
    session.add(
        ForecastSeries(
            run_id=run_id,
            kelurahan_code=code,
            history_first=last - timedelta(days=length - 1) if length else None,
            history_days=length,
            method=None if reason else "ets_damped_weekly",
            skipped_reason=reason,
        )
    )
    if reason:
        return SeriesResult(code, length, reason)
    backtests: dict[str, bt.Backtest | None] = {}
    for metric, path in paths.items():
        values = history[metric]
        points = [to_stored(v, metric) for v in path.point]
        for n, (p, lo, hi) in enumerate(zip(points, path.lo, path.hi, strict=True)):
            session.add(
                ForecastPoint(
                    run_id=run_id,
                    kelurahan_code=code,
                    metric=metric,
                    day=last + timedelta(days=n + 1),
                    point=p,
                    lo80=min(to_stored(lo, metric), p),
                    hi80=max(to_stored(hi, metric), p),
                )
            )
        for h in TOTAL_HORIZONS:
            total = sum(points[:h])
            low, high = path.totals[h]
            session.add(
                ForecastTotal(
                    run_id=run_id,
                    kelurahan_code=code,
                    metric=metric,
                    horizon_days=h,
                    point=total,
                    lo80=min(to_stored(low, metric), total),
                    hi80=max(to_stored(high, metric), total),
                )
            )
        try:
            result = bt.backtest(values)
        except ModelFailedError:  # the path was fitted; an origin's shorter history was not
            result = None
        backtests[metric] = result
        if result is not None:
            for method, errors in (("model", result.model), ("baseline", result.baseline)):
                session.add(
                    ForecastError(
                        run_id=run_id,
                        kelurahan_code=code,
                        metric=metric,
                        method=method,
                        mase_bp=bp(errors.mase),
                        mape_bp=bp(errors.mape),
                        mae=round_half_up(errors.mae * UNIT[metric]),
                        origins=result.origins,
                    )
                )
    return SeriesResult(code, length, None, backtests)


def run(
    session: Session,
    as_of: date,
    history_days: int = DEFAULT_HISTORY_DAYS,
    *,
    now: Callable[[], datetime] = utcnow,
) -> RunSummary:
    """Forecasts from the ``history_days`` days ending on ``as_of`` and stores the run (replacing
    a run of the same history), in the caller's transaction.

    Raises:
        InvalidHistoryError: ``history_days`` is not in 14 .. 730.
    """
    if not MIN_HISTORY_DAYS <= history_days <= MAX_HISTORY_DAYS:
        raise InvalidHistoryError(
            f"the history is {MIN_HISTORY_DAYS} to {MAX_HISTORY_DAYS} days, not {history_days}"
        )
    if as_of - date.min < timedelta(days=history_days):
        raise InvalidHistoryError(f"{history_days} days before {as_of} is not a date")
    first = as_of - timedelta(days=history_days - 1)
    check_range(first, as_of)
    old = session.scalars(
        select(ForecastRun.id).where(ForecastRun.history_first == first, ForecastRun.history_last == as_of)
    ).all()
    for table in CHILDREN:
        session.execute(delete(table).where(table.run_id.in_(old)))
    session.execute(delete(ForecastRun).where(ForecastRun.id.in_(old)))
    stamp = now()
    row = ForecastRun(
        computed_at=stamp,
        history_first=first,
        history_last=as_of,
        model=DESCRIPTION,
        horizon_days=HORIZON_DAYS,
        interval_percent=INTERVAL_PERCENT,
        backtest_origins=bt.ORIGINS,
        backtest_horizon_days=bt.HORIZON,
    )
    session.add(row)
    session.flush()
    history = series_of(daily_totals(session, first, as_of), first, as_of)
    results = [_store_series(session, row.id, code, as_of, history[code]) for code in history]
    session.flush()
    return RunSummary(row.id, first, as_of, results)
