"""Books for the forecast pages: Taman sells on a strict weekly pattern (the seasonal-naive
baseline is exact there, so the model cannot beat it), Klegen 1 or 2 payments a day at random (seeded)."""

from __future__ import annotations

import random
from datetime import date, timedelta

from city.forecast.compute import run
from tests.city.lpui.support import Books, jakarta

TAMAN, KLEGEN, WINONGO = "35.77.03.1009", "35.77.01.1003", "35.77.02.1005"
WEEK = (1, 2, 0, 1, 2, 1, 1)
"""Taman's payments on each day of the week, from the first day."""
DAYS = 21
SEN = 10_000


def trade_and_forecast(books: Books, first: date, *, with_klegen: bool = True) -> date:
    """Three weeks of payments from ``first`` (Klegen's too if ``with_klegen``), then the forecast
    as of the last day; that day."""
    taman, klegen = books.merchant("Taman"), books.merchant("Klegen")
    draw = random.Random(4)
    for n in range(DAYS):
        day = first + timedelta(days=n)
        for k in range(WEEK[n % 7]):
            books.pay(taman, SEN, jakarta(day, 9 + k))
        for k in range(draw.randrange(1, 3) if with_klegen else 0):
            books.pay(klegen, SEN * (1 + draw.randrange(5)), jakarta(day, 14 + k))
    last = first + timedelta(days=DAYS - 1)
    with books.db.sessions.begin() as session:
        run(session, last, history_days=DAYS)
    return last
