"""The forecasting model and the baseline it must beat.

Model: statsmodels' ETS (exponential smoothing state space) with additive errors, an additive
damped trend and an additive weekly season (7 days). Additive errors give analytic daily 80%
intervals (``get_prediction(...).summary_frame(alpha=0.2)``); the interval of a 30/60/90-day total
comes from simulated 90-day paths (a total is not the sum of daily quantiles). Everything is
clipped at 0 (no negative payments). The series is divided by its mean before fitting (values in
sen are large) and the results multiplied back. Baseline: seasonal naive (the same weekday of the
last observed week).
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from statsmodels.tools.sm_exceptions import ConvergenceWarning
from statsmodels.tsa.exponential_smoothing.ets import ETSModel

from common.errors import MSCError, ValidationError

SEASON = 7
"""Days in a season (a week)."""
MIN_HISTORY_DAYS = 2 * SEASON
"""Fewer days than this: no forecast (the weekly season cannot be estimated)."""
ALPHA = 0.2
"""1 - the interval's coverage (80%)."""
SIMULATIONS = 1000
"""Simulated paths behind the intervals of the totals."""
DESCRIPTION = (
    "statsmodels ETS(A,Ad,A): additive errors, damped additive trend, additive weekly season (7); "
    "80% intervals (daily: analytic; totals: 1000 simulated paths); clipped at 0"
)


class TooLittleHistoryError(ValidationError):
    """A series is shorter than :data:`MIN_HISTORY_DAYS`."""

    code = "forecast_too_little_history"


class ModelFailedError(MSCError):
    """statsmodels could not fit the series or gave non-finite figures (the series gets no
    forecast, with this as its reason, instead of a made-up number)."""

    code = "forecast_model_failed"


@dataclass(frozen=True)
class Forecast:
    """A forecast path of ``horizon`` days (floats in the series' unit, all >= 0).

    Attributes:
        point: The daily point forecasts.
        lo: The daily 80% lower bounds.
        hi: The daily 80% upper bounds.
        totals: For each asked total horizon ``h``: the 10% and 90% quantiles of the simulated
            total of the first ``h`` days.
    """

    point: list[float]
    lo: list[float]
    hi: list[float]
    totals: dict[int, tuple[float, float]]


def seasonal_naive(history: Sequence[float], horizon: int) -> list[float]:
    """Each day's value on the same weekday of the last observed week."""
    if len(history) < SEASON:
        raise TooLittleHistoryError(f"the seasonal-naive forecast needs {SEASON} days")
    last_week = list(history[-SEASON:])
    return [float(last_week[h % SEASON]) for h in range(horizon)]


def _fit(scaled: np.ndarray) -> object:
    model = ETSModel(
        pd.Series(scaled, index=pd.RangeIndex(len(scaled))),
        error="add",
        trend="add",
        damped_trend=True,
        seasonal="add",
        seasonal_periods=SEASON,
    )
    with warnings.catch_warnings():
        # A flat or very regular series converges "badly" and still fits it exactly.
        warnings.simplefilter("ignore", ConvergenceWarning)
        warnings.simplefilter("ignore", RuntimeWarning)
        return model.fit(disp=False)


def forecast(
    history: Sequence[float], horizon: int, *, totals: Sequence[int] = (), seed: int = 0
) -> Forecast:
    """The model's ``horizon``-day forecast of ``history`` (one value a day, oldest first).

    Raises:
        TooLittleHistoryError: ``history`` has fewer than :data:`MIN_HISTORY_DAYS` days.
    """
    if len(history) < MIN_HISTORY_DAYS:
        raise TooLittleHistoryError(
            f"{len(history)} days of history; a forecast needs at least {MIN_HISTORY_DAYS}"
        )
    values = np.asarray(history, dtype=float)
    scale = float(np.mean(np.abs(values))) or 1.0
    try:
        return _forecast(values, scale, horizon, totals, seed)
    except (ValueError, ArithmeticError, np.linalg.LinAlgError) as exc:
        raise ModelFailedError(f"the model could not be fitted ({type(exc).__name__})") from exc


def _forecast(values: np.ndarray, scale: float, horizon: int, totals: Sequence[int], seed: int) -> Forecast:
    result = _fit(values / scale)
    n = len(values)
    frame = result.get_prediction(start=n, end=n + horizon - 1).summary_frame(alpha=ALPHA)  # type: ignore[attr-defined]
    point = np.clip(frame["mean"].to_numpy(), 0, None) * scale
    lo = np.clip(frame["pi_lower"].to_numpy(), 0, None) * scale
    hi = np.clip(frame["pi_upper"].to_numpy(), 0, None) * scale
    if not all(np.isfinite(a).all() for a in (point, lo, hi)):
        raise ValueError("non-finite forecast")
    bounds: dict[int, tuple[float, float]] = {}
    if totals:
        paths = result.simulate(  # type: ignore[attr-defined]
            horizon, anchor="end", repetitions=SIMULATIONS, rng=np.random.default_rng(seed)
        )
        sums = np.cumsum(np.clip(np.asarray(paths, dtype=float), 0, None), axis=0) * scale
        for h in totals:
            low, high = np.quantile(sums[h - 1], [ALPHA / 2, 1 - ALPHA / 2])
            if not (np.isfinite(low) and np.isfinite(high)):
                raise ValueError("non-finite simulated total")
            bounds[h] = (float(low), float(high))
    return Forecast(
        point=[float(v) for v in point],
        lo=[float(min(v, p)) for v, p in zip(lo, point, strict=True)],
        hi=[float(max(v, p)) for v, p in zip(hi, point, strict=True)],
        totals=bounds,
    )
