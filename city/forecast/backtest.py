"""Rolling-origin backtest of the model against the seasonal-naive baseline, in the same run.

Origins every :data:`STEP` days over the last ``ORIGINS x STEP`` days (4 x 7 = 28): at each
origin both forecast the next :data:`HORIZON` days from the history before it; an origin needs
:data:`~city.forecast.model.MIN_HISTORY_DAYS` days before it, so a short series has fewer origins
(none below 21 days: no backtest). Errors over every backtested day:

* MASE = mean |error| / the in-sample seasonal-naive mean |y_t - y_(t-7)| of the history before
  the first origin (the same scale for both, so MASE ranks them as their mean errors do; None
  when that scale is 0, a flat history);
* MAPE = mean |error| / |actual| over the backtested days whose actual is not 0 (None if none).

The model beats the baseline when its mean error is lower (its MASE is lower): equal is not better.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from fractions import Fraction

from city.forecast.model import MIN_HISTORY_DAYS, SEASON, forecast, seasonal_naive

ORIGINS = 4
STEP = 7
HORIZON = 7

Method = Callable[[Sequence[float], int], list[float]]


@dataclass(frozen=True)
class Errors:
    """One method's backtest errors (exact fractions of the float forecasts)."""

    mae: Fraction
    mase: Fraction | None
    mape: Fraction | None


@dataclass(frozen=True)
class Backtest:
    """The model's and the baseline's errors over the same origins and days."""

    model: Errors
    baseline: Errors
    origins: int

    @property
    def beats_baseline(self) -> bool:
        """The model's mean error (so its MASE) is strictly lower than the baseline's."""
        return self.model.mae < self.baseline.mae


def origins_of(length: int) -> list[int]:
    """The backtest origins (indexes of the first forecast day) of a series of ``length`` days."""
    found = [length - HORIZON - STEP * k for k in range(ORIGINS)]
    return sorted(o for o in found if o >= MIN_HISTORY_DAYS)


def _model(history: Sequence[float], horizon: int) -> list[float]:
    return forecast(history, horizon).point


def _errors(history: Sequence[int], origins: list[int], method: Method, scale: Fraction) -> Errors:
    absolute: list[Fraction] = []
    relative: list[Fraction] = []
    for origin in origins:
        predicted = method([float(v) for v in history[:origin]], HORIZON)
        for actual, guess in zip(history[origin : origin + HORIZON], predicted, strict=True):
            error = abs(Fraction(actual) - Fraction(guess))
            absolute.append(error)
            if actual != 0:
                relative.append(error / abs(actual))
    mae = sum(absolute, Fraction(0)) / len(absolute)
    return Errors(
        mae=mae,
        mase=mae / scale if scale else None,
        mape=sum(relative, Fraction(0)) / len(relative) if relative else None,
    )


def backtest(history: Sequence[int]) -> Backtest | None:
    """Model vs seasonal naive on ``history`` (one integer a day, oldest first); None when it is
    too short for one origin."""
    origins = origins_of(len(history))
    if not origins:
        return None
    before = history[: origins[0]]
    steps = [abs(before[t] - before[t - SEASON]) for t in range(SEASON, len(before))]
    scale = Fraction(sum(steps), len(steps))
    return Backtest(
        model=_errors(history, origins, _model, scale),
        baseline=_errors(history, origins, seasonal_naive, scale),
        origins=len(origins),
    )
