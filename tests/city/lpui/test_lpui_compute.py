"""LPUI from the books: a hand-computed example, the window's edges, the all-equal case, weights
from settings, idempotent recomputation; on SQLite and PostgreSQL, payments made through
PaymentService."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from city.kelurahan import KELURAHAN
from city.lpui import metrics
from city.lpui.compute import InvalidRangeError, compute_range
from city.lpui.models import UNKNOWN_CODE, LpuiDaily
from city.lpui.reading import ranking, rows_between
from city.lpui.settings import LpuiSettings
from common.errors import ConfigurationError
from settlement.payments.models import PaymentStatus
from tests.city.lpui.support import Books, jakarta

TAMAN, KARTOHARJO, KLEGEN = "35.77.03.1009", "35.77.01.1008", "35.77.01.1003"


def stored(books: Books, day: date) -> dict[str, LpuiDaily]:
    with books.db.sessions() as session:
        return {r.kelurahan_code: r for r in session.scalars(select(LpuiDaily).where(LpuiDaily.day == day))}


def compute(books: Books, first: date, last: date, settings: LpuiSettings) -> None:
    with books.db.sessions.begin() as session:
        compute_range(session, first, last, settings, on_computed=metrics.publish)


def three_kelurahan(books: Books, day: date) -> None:
    """Taman: 2 payments on ``day`` (100 + 200 Rp) and one not settled; Kartoharjo: 600 Rp the day
    before; Klegen: 300 Rp just after midnight Jakarta two days before (still 17:30 UTC three days
    before) and 900 Rp at 23:30 Jakarta three days before (outside a 3-day window); a merchant in
    no kelurahan of the city: 50 Rp on ``day``."""
    taman, kartoharjo, klegen = (
        books.merchant("taman"),
        books.merchant("KARTOHARJO"),
        books.merchant("Klegen"),
    )
    books.pay(taman, 10_000, jakarta(day, 9))
    books.pay(taman, 20_000, jakarta(day, 23, 59))
    books.pay(taman, 7_000_000, jakarta(day, 10), until=PaymentStatus.PENDING_STELLAR)
    books.pay(kartoharjo, 60_000, jakarta(day - timedelta(days=1), 0, 0))
    books.pay(klegen, 30_000, jakarta(day - timedelta(days=2), 0, 30))
    books.pay(klegen, 90_000, jakarta(day - timedelta(days=3), 23, 30))
    books.pay(books.merchant("Atlantis"), 5_000, jakarta(day, 8))


def test_a_hand_computed_example_three_kelurahan_with_payments_the_others_zero(books: Books) -> None:
    day = date(2031, 3, 10)
    three_kelurahan(books, day)
    compute(books, day, day, LpuiSettings.from_env({}, window_days=3))
    rows = stored(books, day)
    assert set(rows) == {k.code for k in KELURAHAN} | {UNKNOWN_CODE}
    # avg counts 2/3, 1/3, 1/3 (max 2/3) -> 1, 1/2, 1/2; avg values 10000, 20000, 10000 sen
    # (max 20000) -> 1/2, 1, 1/2; LPUI = 0.6 nc + 0.4 nv = 0.8, 0.7, 0.5.
    got = {
        c: (r.tx_count, r.tx_value_sen, r.avg_count_milli, r.avg_value_sen, r.index_bp)
        for c, r in rows.items()
    }
    assert got[TAMAN] == (2, 30_000, 667, 10_000, 8000)
    assert got[KARTOHARJO] == (1, 60_000, 333, 20_000, 7000)
    assert got[KLEGEN] == (1, 30_000, 333, 10_000, 5000)
    assert got[UNKNOWN_CODE] == (1, 5_000, 333, 1_667, None)
    others = [got[k.code] for k in KELURAHAN if k.code not in {TAMAN, KARTOHARJO, KLEGEN}]
    assert len(others) == 24 and set(others) == {(0, 0, 0, 0, 0)}
    assert {(r.window_days, r.weight_count_bp, r.weight_value_bp) for r in rows.values()} == {(3, 6000, 4000)}
    with books.db.sessions() as session:
        top = ranking(session, day)
    assert [r.kelurahan_code for r in top[:3]] == [TAMAN, KARTOHARJO, KLEGEN]
    assert len(top) == 27 and top[0].kelurahan == "Taman" and top[0].kecamatan == "Taman"
    index = metrics.INDEX.labels(kelurahan_code=TAMAN, kelurahan="Taman")
    assert index._value.get() == 8000  # the gauge shows the latest computed day


def test_the_window_includes_its_first_day_and_not_the_day_before(books: Books) -> None:
    day = date(2032, 5, 31)
    merchant = books.merchant("Josenan")
    books.pay(merchant, 123_456, jakarta(day - timedelta(days=29), 0, 0))  # first day of the 30
    settings = LpuiSettings.from_env({})
    assert settings.window_days == 30
    compute(books, day, day + timedelta(days=1), settings)
    josenan = "35.77.03.1007"
    on_day, next_day = stored(books, day)[josenan], stored(books, day + timedelta(days=1))[josenan]
    assert (on_day.tx_count, on_day.tx_value_sen, on_day.avg_count_milli, on_day.avg_value_sen) == (
        1,
        123_456,
        33,  # 1000/30 = 33.3
        4_115,  # 123456/30 = 4115.2
    )
    assert on_day.index_bp == 10_000  # the only kelurahan with payments tops both components
    assert (next_day.tx_count, next_day.index_bp) == (0, 0)


def test_all_equal_normalises_to_zero(books: Books) -> None:
    day = date(2033, 7, 1)
    compute(books, day, day, LpuiSettings.from_env({}, window_days=1))
    rows = stored(books, day)
    assert len(rows) == 27 and {r.index_bp for r in rows.values()} == {0}
    for k in KELURAHAN:  # the same payments everywhere: still all equal
        books.pay(books.merchant(k.code), 5_000, jakarta(day, 10))
    compute(books, day, day, LpuiSettings.from_env({}, window_days=1))
    rows = stored(books, day)
    assert {(r.tx_count, r.tx_value_sen, r.index_bp) for r in rows.values()} == {(1, 5_000, 0)}


def test_weights_come_from_settings(books: Books) -> None:
    day = date(2034, 2, 14)
    three_kelurahan(books, day)
    settings = LpuiSettings.from_env(
        {"MSC_LPUI_WINDOW_DAYS": "3", "MSC_LPUI_WEIGHT_COUNT": "0.25", "MSC_LPUI_WEIGHT_VALUE": "0.75"}
    )
    compute(books, day, day, settings)
    rows = stored(books, day)
    # 0.25 nc + 0.75 nv: Taman 0.25 + 0.375, Kartoharjo 0.125 + 0.75, Klegen 0.125 + 0.375
    assert (rows[TAMAN].index_bp, rows[KARTOHARJO].index_bp, rows[KLEGEN].index_bp) == (6250, 8750, 5000)
    assert (rows[TAMAN].weight_count_bp, rows[TAMAN].weight_value_bp) == (2500, 7500)


@pytest.mark.parametrize(
    "environ",
    [
        {"MSC_LPUI_WEIGHT_COUNT": "0.7"},  # 0.7 + 0.4 != 1
        {"MSC_LPUI_WEIGHT_COUNT": "0.12345", "MSC_LPUI_WEIGHT_VALUE": "0.87655"},  # below a basis point
        {"MSC_LPUI_WINDOW_DAYS": "0"},
    ],
)
def test_invalid_settings_are_refused(environ: dict[str, str]) -> None:
    with pytest.raises(ConfigurationError, match="MSC_LPUI_"):
        LpuiSettings.from_env(environ)


def test_recomputing_is_idempotent_and_follows_the_books(books: Books) -> None:
    first, last = date(2035, 1, 1), date(2035, 1, 4)
    three_kelurahan(books, date(2035, 1, 3))
    settings = LpuiSettings.from_env({}, window_days=3)
    compute(books, first, last, settings)

    def snapshot() -> list[tuple[object, ...]]:
        with books.db.sessions() as session:
            return [
                (r.kelurahan_code, r.day, r.tx_count, r.tx_value_sen, r.index_bp)
                for r in rows_between(session, first, last)
            ]

    before = snapshot()
    compute(books, first, last, settings)
    compute(books, date(2035, 1, 2), date(2035, 1, 3), settings)
    assert snapshot() == before
    with books.db.sessions() as session:
        count = session.scalar(
            select(func.count()).select_from(LpuiDaily).where(LpuiDaily.day.between(first, last))
        )
    assert count == len(before) and len({(c, d) for c, d, *_ in before}) == count
    books.pay(books.merchant("Demangan"), 1_000_000, jakarta(date(2035, 1, 4), 12))
    compute(books, first, last, settings)
    assert (
        stored(books, date(2035, 1, 4))["35.77.03.1008"].index_bp == 7000
    )  # 0.6 x 1/2 (Taman has 2) + 0.4 x 1 (top value)
    assert snapshot() != before


def test_a_reversed_range_is_refused(books: Books) -> None:
    with books.db.sessions.begin() as session, pytest.raises(InvalidRangeError):
        compute_range(session, date(2036, 1, 2), date(2036, 1, 1), LpuiSettings.from_env({}))
    with books.db.sessions.begin() as session, pytest.raises(InvalidRangeError):
        compute_range(session, date(1, 1, 2), date(1, 1, 3), LpuiSettings.from_env({}))
