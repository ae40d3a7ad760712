"""``city.forecast.compute.run`` on a small seeded pilot, on SQLite and PostgreSQL: what is stored,
what is skipped and why, idempotence, refusals; and reading it back."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from city.forecast import compute, reading
from city.forecast.compute import InvalidHistoryError, run, series_of
from city.forecast.model import ModelFailedError
from city.forecast.models import (
    CITY_CODE,
    ForecastError,
    ForecastPoint,
    ForecastRun,
    ForecastSeries,
    ForecastTotal,
)
from city.kelurahan import KELURAHAN, UnknownKelurahanError
from city.lpui.compute import daily_totals
from tests.city.forecast.conftest import PLAN, PilotDb

AS_OF = PLAN.end - timedelta(days=1)
TRADING = {k.code for k in KELURAHAN[:3]}


def _count(pilot: PilotDb, table: type, run_id: int) -> int:
    with pilot.sessions() as session:
        return session.scalar(select(func.count()).select_from(table).where(table.run_id == run_id)) or 0


def test_the_run_forecasts_the_trading_kelurahan_and_the_city_and_says_why_not_the_rest(
    pilot: PilotDb,
) -> None:
    with pilot.sessions.begin() as session:
        summary = run(session, AS_OF, history_days=28)  # 7 days before the pilot: not its history
    forecast = {s.code for s in summary.series if s.skipped_reason is None}
    assert forecast == TRADING | {CITY_CODE}
    skipped = [s for s in summary.series if s.skipped_reason is not None]
    assert len(skipped) == 24
    assert {s.skipped_reason for s in skipped} == {"no settled payments in the history"}
    assert _count(pilot, ForecastPoint, summary.run_id) == 4 * 2 * 90
    assert _count(pilot, ForecastTotal, summary.run_id) == 4 * 2 * 3
    with pilot.sessions() as session:
        city = session.scalars(
            select(ForecastSeries).where(
                ForecastSeries.run_id == summary.run_id, ForecastSeries.kelurahan_code == CITY_CODE
            )
        ).one()
        assert city.history_first == PLAN.first_day and city.history_days == 21
        points = session.scalars(
            select(ForecastPoint)
            .where(ForecastPoint.run_id == summary.run_id, ForecastPoint.kelurahan_code == CITY_CODE)
            .where(ForecastPoint.metric == "count")
            .order_by(ForecastPoint.day)
        ).all()
        totals = {
            t.horizon_days: t
            for t in session.scalars(
                select(ForecastTotal).where(
                    ForecastTotal.run_id == summary.run_id,
                    ForecastTotal.kelurahan_code == CITY_CODE,
                    ForecastTotal.metric == "count",
                )
            )
        }
        errors = session.scalars(
            select(ForecastError).where(
                ForecastError.run_id == summary.run_id, ForecastError.kelurahan_code == CITY_CODE
            )
        ).all()
    assert [p.day for p in points] == [AS_OF + timedelta(days=n) for n in range(1, 91)]
    assert all(0 <= p.lo80 <= p.point <= p.hi80 for p in points)
    for days in (30, 60, 90):  # the 30/60-day forecasts are prefixes of the one 90-day path
        assert totals[days].point == sum(p.point for p in points[:days])
        assert 0 <= totals[days].lo80 <= totals[days].point <= totals[days].hi80
    # 21 days: one backtest origin (day 14), both methods, both metrics
    assert sorted((e.metric, e.method, e.origins) for e in errors) == [
        ("count", "baseline", 1),
        ("count", "model", 1),
        ("value", "baseline", 1),
        ("value", "model", 1),
    ]
    # The city series is every settled payment of the pilot, as the LPUI counts them.
    with pilot.sessions() as session:
        history = series_of(daily_totals(session, PLAN.first_day, AS_OF), PLAN.first_day, AS_OF)
    assert sum(history[CITY_CODE]["count"]) == pilot.summary.pi_payments
    assert sum(history[CITY_CODE]["value"]) == pilot.summary.idr_sen


def test_rerunning_the_same_history_replaces_its_run(pilot: PilotDb) -> None:
    with pilot.sessions.begin() as session:
        first = run(session, AS_OF, history_days=21)
    with pilot.sessions.begin() as session:
        second = run(session, AS_OF, history_days=21)
    with pilot.sessions() as session:
        runs = session.scalars(
            select(ForecastRun.id).where(ForecastRun.history_first == PLAN.first_day)
        ).all()
    assert runs == [second.run_id]  # SQLite may reuse the deleted run's id, PostgreSQL does not
    assert _count(pilot, ForecastPoint, second.run_id) == 4 * 2 * 90
    assert [s.skipped_reason for s in first.series] == [s.skipped_reason for s in second.series]


def test_too_little_history_is_no_forecast_with_the_reason(pilot: PilotDb) -> None:
    with pilot.sessions.begin() as session:
        summary = run(session, PLAN.first_day + timedelta(days=9), history_days=30)
    reasons = {s.code: s.skipped_reason for s in summary.series}
    assert reasons[CITY_CODE] == "10 days since its first settled payment; a forecast needs at least 14"
    assert all(r is not None for r in reasons.values())
    assert _count(pilot, ForecastPoint, summary.run_id) == 0
    assert _count(pilot, ForecastError, summary.run_id) == 0


@pytest.mark.parametrize("history_days", [13, 731])
def test_a_bad_history_is_refused_and_writes_nothing(pilot: PilotDb, history_days: int) -> None:
    with pilot.sessions() as session:
        before = session.scalar(select(func.count()).select_from(ForecastRun))
    with pytest.raises(InvalidHistoryError, match="14 to 730 days"), pilot.sessions.begin() as session:
        run(session, AS_OF, history_days=history_days)
    with pilot.sessions() as session:
        assert session.scalar(select(func.count()).select_from(ForecastRun)) == before


def test_reading_the_latest_run_back(pilot: PilotDb) -> None:
    with pilot.sessions.begin() as session:
        run(session, AS_OF + timedelta(days=1), history_days=22)
    with pilot.sessions() as session:
        city = reading.series_forecast(session, reading.subject_code(None))
        quiet = reading.series_forecast(session, reading.subject_code("Taman"))
        with pytest.raises(UnknownKelurahanError):
            reading.series_forecast(session, reading.subject_code("Atlantis"))
        history = reading.recent_history(session, CITY_CODE, AS_OF, 28)
    assert city.run.history_last == AS_OF + timedelta(days=1) and city.skipped_reason is None
    body = city.as_json()
    count = body["metrics"]["count"]
    assert len(count["days"]) == 90 and [t["horizon_days"] for t in count["totals"]] == [30, 60, 90]
    backtest = count["backtest"]
    assert backtest["beats_baseline"] == (backtest["model"]["mae"] < backtest["baseline"]["mae"])
    assert quiet.skipped_reason == "no settled payments in the history" and quiet.metrics == {}
    assert sum(v for _, v in history["count"]) == 1000 * pilot.summary.pi_payments
    assert [d for d, _ in history["value"]][-1] == date(2026, 10, 31)


def test_a_series_the_model_cannot_fit_gets_the_reason_and_the_run_goes_on(
    pilot: PilotDb, monkeypatch: pytest.MonkeyPatch
) -> None:
    def failing(history: list[float], horizon: int, **_: object) -> None:
        raise ModelFailedError("the model could not be fitted (LinAlgError)")

    monkeypatch.setattr(compute, "forecast", failing)
    with pilot.sessions.begin() as session:
        summary = run(session, AS_OF, history_days=23)
    reasons = {s.code: s.skipped_reason for s in summary.series}
    assert reasons[CITY_CODE] == "the model could not be fitted (LinAlgError)"
    assert _count(pilot, ForecastPoint, summary.run_id) == 0
