"""``/v1/forecasts`` and ``/explorer/forecasts`` over HTTP (SQLite and PostgreSQL): exact integers,
the not-better notice, the skipped reason, refusals, Indonesian by default and English on asking."""

from __future__ import annotations

from datetime import date, timedelta

from tests.api.forecast.support import DAYS, KLEGEN, SEN, TAMAN, WEEK, WINONGO, trade_and_forecast
from tests.api.support import MakeApi
from tests.city.lpui.support import Books

FIRST = date(2041, 3, 4)


def test_the_forecasts_over_http(books: Books, make_api: MakeApi) -> None:
    client = make_api().client
    if client.get("/v1/forecasts").status_code == 404:  # first backend run: nothing computed yet
        assert client.get("/v1/forecasts").json()["error"] == "forecast_not_computed"
        assert "Belum ada prakiraan" in client.get("/explorer/forecasts").text
    last = trade_and_forecast(books, FIRST)

    taman = client.get("/v1/forecasts", params={"kelurahan": "taman"}).json()
    assert taman["kelurahan_code"] == TAMAN and taman["run"]["history_last"] == last.isoformat()
    assert taman["history_first"] == FIRST.isoformat() and taman["history_days"] == DAYS
    value = taman["metrics"]["value"]
    assert [d["day"] for d in value["days"]][:2] == [
        (last + timedelta(days=1)).isoformat(),
        (last + timedelta(days=2)).isoformat(),
    ]
    # The strict week repeats: the forecast is that week, to the sen, and no better than the baseline.
    week_ahead = [WEEK[(DAYS + n) % 7] * SEN for n in range(7)]
    assert [abs(d["point"] - want) <= 1 for d, want in zip(value["days"], week_ahead, strict=False)] == [
        True
    ] * 7
    assert value["backtest"]["baseline"]["mae"] == 0 and value["backtest"]["beats_baseline"] is False
    thirty = value["totals"][0]
    assert thirty["horizon_days"] == 30 and thirty["point"] == sum(d["point"] for d in value["days"][:30])
    assert thirty["lo80"] <= thirty["point"] <= thirty["hi80"]

    klegen = client.get("/v1/forecasts", params={"kelurahan": KLEGEN}).json()
    backtest = klegen["metrics"]["count"]["backtest"]
    assert backtest["beats_baseline"] == (backtest["model"]["mae"] < backtest["baseline"]["mae"])
    winongo = client.get("/v1/forecasts", params={"kelurahan": WINONGO}).json()
    assert winongo["skipped_reason"] == "no settled payments in the history" and winongo["metrics"] == {}
    city = client.get("/v1/forecasts").json()
    assert city["kelurahan_code"] == "city" and len(city["metrics"]["count"]["days"]) == 90
    unknown = client.get("/v1/forecasts", params={"kelurahan": "Atlantis"})
    assert unknown.status_code == 422 and unknown.json()["error"] == "unknown_kelurahan"

    page = client.get("/explorer/forecasts", params={"kelurahan": TAMAN})
    assert page.status_code == 200 and '<html lang="id">' in page.text
    assert "Prakiraan ini tidak lebih baik dari baseline musiman-naif" in page.text
    assert f'title="point_sen={value["totals"][0]["point"]}"' in page.text
    english = client.get("/explorer/forecasts", params={"kelurahan": TAMAN, "lang": "en"}).text
    assert "This forecast is not better than the seasonal-naive baseline." in english
    skipped = client.get("/explorer/forecasts", params={"kelurahan": WINONGO, "lang": "en"}).text
    assert 'id="fc-skipped"' in skipped and "No forecast: no settled payments in the history." in skipped
    refused = client.get("/explorer/forecasts", params={"kelurahan": "Atlantis"})
    assert refused.status_code == 422 and 'id="fc-error"' in refused.text
