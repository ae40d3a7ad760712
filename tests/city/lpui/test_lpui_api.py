"""The LPUI over HTTP: ``/v1/lpui``, ``/v1/lpui/ranking``, the ``/explorer/lpui`` page and its CSV
(on SQLite and PostgreSQL; rows computed from payments made through PaymentService)."""

from __future__ import annotations

import csv
import io
import re
from datetime import date, timedelta

from city.lpui import metrics
from city.lpui.compute import compute_range
from city.lpui.settings import LpuiSettings
from tests.api.support import MakeApi
from tests.city.lpui.support import Books, jakarta

TAMAN, KARTOHARJO = "35.77.03.1009", "35.77.01.1008"


def computed(books: Books, day: date) -> date:
    """Taman: 2 payments (100 + 200 Rp) on ``day``; Kartoharjo: 600 Rp the day before; a merchant
    in no kelurahan of the city: 50 Rp; window 3 days. Each test has its own ``day``: the database
    is shared by the session."""
    taman, kartoharjo = books.merchant("Taman"), books.merchant("Kartoharjo")
    books.pay(taman, 10_000, jakarta(day, 9))
    books.pay(taman, 20_000, jakarta(day, 10))
    books.pay(kartoharjo, 60_000, jakarta(day - timedelta(days=1), 10))
    books.pay(books.merchant("Atlantis"), 5_000, jakarta(day, 11))
    with books.db.sessions.begin() as session:
        compute_range(session, day - timedelta(days=1), day, LpuiSettings.from_env({}, window_days=3))
    return day


def test_the_api_serves_exact_integers_and_the_ranking(books: Books, make_api: MakeApi) -> None:
    day = computed(books, date(2037, 8, 17))
    client = make_api().client
    answer = client.get("/v1/lpui", params={"from": day.isoformat(), "to": day.isoformat()})
    assert answer.status_code == 200
    rows = {r["kelurahan_code"]: r for r in answer.json()["rows"]}
    assert (
        len(rows) == 28 and rows["unknown"]["index_bp"] is None and rows["unknown"]["tx_value_sen"] == 5_000
    )
    # counts 2/3 vs 1/3 -> 1, 1/2; values 10000 vs 20000 -> 1/2, 1
    assert rows[TAMAN] == {
        "kelurahan_code": TAMAN,
        "kelurahan": "Taman",
        "kecamatan": "Taman",
        "day": day.isoformat(),
        "window_days": 3,
        "tx_count": 2,
        "tx_value_sen": 30_000,
        "avg_count_milli": 667,
        "avg_value_sen": 10_000,
        "index_bp": 8000,
    }
    assert rows[KARTOHARJO]["index_bp"] == 7000
    ranking = client.get("/v1/lpui/ranking", params={"day": day.isoformat()}).json()
    assert ranking["day"] == day.isoformat() and len(ranking["ranking"]) == 27
    assert [(r["rank"], r["kelurahan_code"]) for r in ranking["ranking"][:2]] == [(1, TAMAN), (2, KARTOHARJO)]
    missing = client.get("/v1/lpui/ranking", params={"day": "2001-01-01"})
    assert missing.status_code == 404 and missing.json()["error"] == "lpui_not_computed"
    reversed_range = client.get("/v1/lpui", params={"from": "2037-08-17", "to": "2037-08-16"})
    assert reversed_range.status_code == 422
    two_years = client.get("/v1/lpui", params={"from": "2036-01-01", "to": "2037-12-31"})
    assert two_years.status_code == 422 and two_years.json()["error"] == "invalid_day_range"
    early, backwards = {"last": "0001-01-03"}, {"first": "9999-12-31", "last": "0001-01-01"}
    assert client.get("/explorer/lpui", params=early).status_code == 200  # no day before date.min
    assert client.get("/explorer/lpui.csv", params=early).text.count("\n") == 1
    assert client.get("/explorer/lpui", params=backwards).status_code == 422
    too_long = {"first": "2037-01-01", "last": "2037-04-03"}  # 93 days: more than the page shows
    assert client.get("/explorer/lpui", params=too_long).status_code == 422
    assert client.get("/explorer/lpui.csv", params=too_long).status_code == 200
    assert client.get("/explorer/lpui.csv", params=backwards).status_code == 422


def test_the_page_shows_heat_map_ranking_trend_in_indonesian_then_english(
    books: Books, make_api: MakeApi
) -> None:
    day = computed(books, date(2037, 9, 17))
    client = make_api().client
    page = client.get(
        "/explorer/lpui", params={"first": (day - timedelta(days=1)).isoformat(), "last": day.isoformat()}
    )
    assert page.status_code == 200 and '<html lang="id">' in page.text
    assert "Peringkat" in page.text
    assert (
        'title="index_bp=8000 avg_count_milli=667 avg_value_sen=10000 tx_count=2 tx_value_sen=30000'
        in page.text
    )
    assert re.search(r'<td class="lpui-cell lpui-b4" title="[^"]*">8000</td>', page.text)
    assert "style=" not in page.text and "<script" not in page.text
    english = client.get("/explorer/lpui", params={"lang": "en", "last": day.isoformat()})
    assert '<html lang="en">' in english.text and "Ranking on" in english.text
    assert client.cookies.get("msc_lang") == "en" or "msc_lang" in english.headers.get("set-cookie", "")


def test_the_csv_has_every_row_exact_and_neutralised(books: Books, make_api: MakeApi) -> None:
    day = computed(books, date(2037, 10, 17))
    client = make_api().client
    answer = client.get("/explorer/lpui.csv", params={"first": day.isoformat(), "last": day.isoformat()})
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(answer.text)))
    assert len(rows) == 28
    taman = next(r for r in rows if r["kelurahan_code"] == TAMAN)
    assert (taman["index_bp"], taman["avg_count_milli"], taman["tx_value_sen"]) == ("8000", "667", "30000")
    assert next(r for r in rows if r["kelurahan_code"] == "unknown")["index_bp"] == ""


def test_metrics_show_the_latest_stored_day_computed_by_another_process(
    books: Books, make_api: MakeApi
) -> None:
    computed(books, date(2100, 1, 1))  # the latest day in the shared database (support.py)
    for gauge in (metrics.INDEX, metrics.AVG_COUNT, metrics.AVG_VALUE):
        gauge.clear()  # as in an API process that did not compute
    text = make_api().client.get("/metrics").text
    assert 'msc_lpui_index{kelurahan="Taman",kelurahan_code="35.77.03.1009"} 8000.0' in text
    assert 'msc_lpui_index{kelurahan="Kartoharjo",kelurahan_code="35.77.01.1008"} 7000.0' in text
    assert 'msc_lpui_avg_value_sen{kelurahan="unknown",kelurahan_code="unknown"} 1667.0' in text
    assert 'msc_lpui_index{kelurahan="unknown"' not in text
    assert text.count("msc_lpui_index{") == 27
