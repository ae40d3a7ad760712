"""``python -m city.lpui compute``: computes a range into the database MSC_DATABASE_URL names,
reports what it did, refuses a reversed range (SQLite and PostgreSQL)."""

from __future__ import annotations

import json
from datetime import date

import pytest
from sqlalchemy import select

from city.lpui.__main__ import main
from city.lpui.models import LpuiDaily
from tests.city.lpui.support import Books, jakarta


def test_compute_writes_the_range_and_says_so(
    books: Books, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("MSC_DATABASE_URL", books.db.url)
    monkeypatch.setenv("MSC_LPUI_WINDOW_DAYS", "2")
    books.pay(books.merchant("Winongo"), 42_000, jakarta(date(2040, 6, 1), 15))
    assert main(["compute", "--from", "2040-06-01", "--to", "2040-06-03"]) == 0
    assert json.loads(capsys.readouterr().out) == {
        "from": "2040-06-01",
        "to": "2040-06-03",
        "days": 3,
        "rows": 81,
    }
    with books.db.sessions() as session:
        winongo = session.scalars(
            select(LpuiDaily)
            .where(LpuiDaily.kelurahan_code == "35.77.02.1005")
            .where(LpuiDaily.day.between(date(2040, 6, 1), date(2040, 6, 3)))
            .order_by(LpuiDaily.day)
        ).all()
    assert [(r.day.day, r.window_days, r.tx_count, r.index_bp) for r in winongo] == [
        (1, 2, 1, 10_000),
        (2, 2, 1, 10_000),  # still in the 2-day window
        (3, 2, 0, 0),
    ]
    assert main(["compute", "--from", "2040-06-03", "--to", "2040-06-01"]) == 2
    assert "before it starts" in capsys.readouterr().err
