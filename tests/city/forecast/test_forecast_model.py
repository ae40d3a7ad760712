"""The model and the backtest on synthetic series whose answer is known (no database)."""

from __future__ import annotations

import random
from fractions import Fraction

import pytest

from city.forecast.backtest import backtest, origins_of
from city.forecast.model import ModelFailedError, TooLittleHistoryError, forecast, seasonal_naive

PATTERN = [10, 14, 9, 12, 30, 42, 5]
"""A week of daily payments: quiet Sunday, busy Friday and Saturday."""


def weeks(n: int) -> list[int]:
    return PATTERN * n


def test_a_pure_weekly_pattern_is_forecast_as_itself() -> None:
    path = forecast(weeks(8), 14)
    for guess, actual in zip(path.point, weeks(2), strict=True):
        assert guess == pytest.approx(actual, abs=1e-3)
    tested = backtest(weeks(8))
    assert tested is not None and tested.origins == 4
    assert tested.baseline.mae == 0  # the baseline repeats last week: exact
    assert tested.model.mae < Fraction(1, 1000)  # the model learns the same season
    assert not tested.beats_baseline  # equal is not better


def test_a_noisy_weekly_pattern_the_model_is_at_least_as_good_as_the_baseline() -> None:
    draw = random.Random(15)
    noisy = [max(0, round(v + draw.gauss(0, 4))) for v in weeks(12)]
    tested = backtest(noisy)
    assert tested is not None and tested.model.mase is not None and tested.baseline.mase is not None
    assert tested.model.mase <= tested.baseline.mase
    assert tested.beats_baseline


def test_a_weekly_pattern_on_a_trend_the_model_follows_the_trend() -> None:
    rising = [v + day for day, v in enumerate(weeks(10))]
    tested = backtest(rising)
    assert tested is not None and tested.baseline.mase == 1  # always a week (7) behind: scale 7
    assert tested.model.mase is not None and tested.model.mase < Fraction(1, 10)


def test_a_constant_series_lies_inside_its_intervals() -> None:
    path = forecast([25] * 30, 90, totals=(30, 60, 90))
    for point, lo, hi in zip(path.point, path.lo, path.hi, strict=True):
        assert lo - 1e-6 <= 25 <= hi + 1e-6 and point == pytest.approx(25)
    for days, (lo, hi) in path.totals.items():
        assert lo - 1e-6 <= 25 * days <= hi + 1e-6


def test_forecasts_are_never_negative_and_intervals_hold_the_point() -> None:
    falling = [max(0, 60 - 3 * day) + (5 if day % 7 == 0 else 0) for day in range(28)]
    path = forecast(falling, 90, totals=(30,))
    assert min(path.lo) >= 0 and min(path.point) >= 0
    assert all(lo <= p <= hi for p, lo, hi in zip(path.point, path.lo, path.hi, strict=True))
    low, high = path.totals[30]
    assert 0 <= low <= high


def test_the_backtest_errors_by_hand() -> None:
    """Weekly 1..7 with a +7 bump on day 8 and +7 on the last week: origins 14 and 21; the
    baseline misses day 15 by 7 (it repeats the bump) and the whole last week by 7."""
    series = [day % 7 + 1 for day in range(28)]
    series[8] += 7
    for day in range(21, 28):
        series[day] += 7
    assert origins_of(len(series)) == [14, 21]
    tested = backtest(series)
    assert tested is not None and tested.origins == 2
    assert tested.baseline.mae == 4  # (7 + 7 x 7) / 14
    assert tested.baseline.mase == 4  # scale: one miss of 7 over days 7..13 = 1
    expected_mape = (Fraction(7, 2) + sum(Fraction(7, k) for k in range(8, 15))) / 14
    assert tested.baseline.mape == expected_mape
    assert seasonal_naive(series[:21], 3) == [1.0, 2.0, 3.0]


def test_too_little_history_gives_no_forecast_and_no_backtest() -> None:
    with pytest.raises(TooLittleHistoryError, match="13 days of history"):
        forecast(weeks(2)[:13], 30)
    assert backtest(weeks(3)[:20]) is None
    assert origins_of(21) == [14]
    with pytest.raises(TooLittleHistoryError):
        seasonal_naive([1, 2, 3], 7)


def test_mape_leaves_out_days_without_payments() -> None:
    series = [0, 4, 0, 4, 0, 4, 0] * 4
    series[-1] = 4  # the baseline says 0 for the last day: error 4 on a day with 4
    tested = backtest(series)
    assert tested is not None
    # 7 backtested days with payments (3 at origin 14, 4 at origin 21), one missed entirely
    assert tested.baseline.mape == Fraction(1, 7)


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_a_series_the_model_cannot_fit_is_refused_not_made_up() -> None:
    with pytest.raises(ModelFailedError, match="could not be fitted"):
        forecast([float("nan")] * 20, 7)
