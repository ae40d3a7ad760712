"""``python -m city.forecast compute``: one JSON line with both methods' errors, and refusals."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from city.forecast.__main__ import main
from tests.city.forecast.conftest import PLAN, PilotDb


def test_compute_prints_one_line_with_both_errors(
    pilot: PilotDb, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("MSC_DATABASE_URL", pilot.url)
    as_of = PLAN.end - timedelta(days=1)
    assert main(["compute", "--as-of", as_of.isoformat(), "--history-days", "21"]) == 0
    out = capsys.readouterr().out
    assert out.count("\n") == 1
    summary = json.loads(out)
    assert (summary["as_of"], summary["history_first"]) == (as_of.isoformat(), PLAN.first_day.isoformat())
    assert (summary["forecast"], summary["skipped"]) == (4, 24)
    for metric in ("count", "value"):
        city = summary[metric]["city"]
        assert {"model_mase_bp", "baseline_mase_bp", "model_mape_bp", "baseline_mape_bp"} <= set(city)
        assert city["beats_baseline"] == (city["model_mase_bp"] < city["baseline_mase_bp"])
        assert (
            0 <= summary[metric]["kelurahan_beating_baseline"] <= summary[metric]["kelurahan_backtested"] <= 3
        )

    assert main(["compute", "--as-of", as_of.isoformat(), "--history-days", "5"]) == 2
    assert "14 to 730 days" in capsys.readouterr().err
