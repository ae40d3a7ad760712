"""The one-line summary of a run: the city's and the kelurahan's errors of both methods."""

from __future__ import annotations

from fractions import Fraction
from typing import Any

from city.forecast.backtest import Backtest
from city.forecast.compute import METRICS, RunSummary, bp
from city.forecast.models import CITY_CODE


def _errors(result: Backtest | None) -> dict[str, Any] | None:
    if result is None:
        return None
    return {
        "model_mase_bp": bp(result.model.mase),
        "baseline_mase_bp": bp(result.baseline.mase),
        "model_mape_bp": bp(result.model.mape),
        "baseline_mape_bp": bp(result.baseline.mape),
        "beats_baseline": result.beats_baseline,
    }


def _mean_bp(values: list[Fraction]) -> int | None:
    return bp(sum(values, Fraction(0)) / len(values)) if values else None


def summarise(summary: RunSummary) -> dict[str, Any]:
    """Exact integers: per metric, the city's errors and, over the backtested kelurahan, the mean
    MASE of model and baseline and how many the model beats."""
    city = next(s for s in summary.series if s.code == CITY_CODE)
    kelurahan = [s for s in summary.series if s.code != CITY_CODE]
    per_metric: dict[str, Any] = {}
    for metric in METRICS:
        tested = [b for s in kelurahan if (b := s.backtests.get(metric)) is not None]
        scaled = [b for b in tested if b.model.mase is not None and b.baseline.mase is not None]
        per_metric[metric] = {
            "city": _errors(city.backtests.get(metric)),
            "kelurahan_backtested": len(tested),
            "kelurahan_beating_baseline": sum(b.beats_baseline for b in tested),
            "kelurahan_mean_model_mase_bp": _mean_bp(
                [b.model.mase for b in scaled if b.model.mase is not None]
            ),
            "kelurahan_mean_baseline_mase_bp": _mean_bp(
                [b.baseline.mase for b in scaled if b.baseline.mase is not None]
            ),
        }
    return {
        "run_id": summary.run_id,
        "history_first": summary.history_first.isoformat(),
        "as_of": summary.history_last.isoformat(),
        "forecast": sum(s.skipped_reason is None for s in summary.series),
        "skipped": sum(s.skipped_reason is not None for s in summary.series),
        **per_metric,
    }
