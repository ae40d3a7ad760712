"""Properties of the pure LDCI (city/credit/ldci.py): no history is no score (not 0), the score is
within 0..1000 and is the weighted mean of components within [0, 1] whose weights sum to 10,000,
more stable revenue (same total, less dispersion) never lowers it, and the stored JSON reads back."""

from __future__ import annotations

from datetime import date, timedelta
from fractions import Fraction
from itertools import pairwise
from math import log2

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from city.credit.ldci import (
    WEIGHTS_BP,
    WINDOW_DAYS,
    DayFigures,
    InvalidLdciInputsError,
    LdciInputs,
    piecewise_log2,
    score,
)
from city.credit.ldci_models import components_from_json, components_json

AS_OF = date(2026, 10, 31)
WINDOW_START = AS_OF - timedelta(days=WINDOW_DAYS - 1)


def _day(value: int, count: int) -> DayFigures:
    return DayFigures(count if value else 0, value)


daily_values = st.lists(
    st.one_of(st.just(0), st.integers(500_000, 50_000_000)), min_size=WINDOW_DAYS, max_size=WINDOW_DAYS
)
counts = st.lists(st.integers(1, 40), min_size=WINDOW_DAYS, max_size=WINDOW_DAYS)
before_window = st.integers(0, 800).map(lambda n: WINDOW_START - timedelta(days=n))
payers = st.none() | st.lists(st.integers(1, 30), min_size=1, max_size=20).map(tuple)


def _inputs(
    values: list[int],
    day_counts: list[int],
    first: date,
    refunds: int = 0,
    disputes: int = 0,
    payer_counts: tuple[int, ...] | None = None,
) -> LdciInputs:
    return LdciInputs(
        as_of=AS_OF,
        days=tuple(_day(v, c) for v, c in zip(values, day_counts, strict=True)),
        payer_counts=payer_counts,
        refunds=refunds,
        disputes=disputes,
        first_settled=first,
    )


@given(refunds=st.integers(0, 5), disputes=st.integers(0, 5), first=st.none() | before_window)
def test_noHistory_isNone_notZero(refunds: int, disputes: int, first: date | None) -> None:
    empty = LdciInputs(
        AS_OF, tuple(DayFigures(0, 0) for _ in range(WINDOW_DAYS)), None, refunds, disputes, first
    )
    assert score(empty) is None


@given(daily_values, counts, before_window, st.integers(0, 50), st.integers(0, 20), payers)
def test_score_isTheWeightedMeanOfComponentsWithinBounds(
    values: list[int],
    day_counts: list[int],
    first: date,
    refunds: int,
    disputes: int,
    payer_counts: tuple[int, ...] | None,
) -> None:
    assume(any(values))
    result = score(_inputs(values, day_counts, first, refunds, disputes, payer_counts))
    assert result is not None
    assert 0 <= result.score <= 1000
    assert sum(c.weight_bp for c in result.components) == 10_000 == sum(WEIGHTS_BP.values())
    assert [c.name for c in result.components] == list(WEIGHTS_BP)
    measured = [c for c in result.components if c.value is not None]
    assert all(0 <= c.value <= 1 for c in measured if c.value is not None)
    assert (len(measured) == 7) == (payer_counts is not None)
    weighted = sum(Fraction(c.weight_bp) * c.value for c in measured if c.value is not None)
    exact = 1000 * weighted / sum(c.weight_bp for c in measured)
    assert result.score - Fraction(1, 2) <= exact < result.score + Fraction(1, 2)
    assert components_from_json(components_json(result.components)) == result.components


@given(daily_values, counts, before_window, st.data())
def test_moreStableRevenue_sameTotal_neverLowersTheScore(
    values: list[int], day_counts: list[int], first: date, data: st.DataObject
) -> None:
    """A Pigou-Dalton transfer (from a bigger day to a smaller one of the same week, at most half
    their difference) keeps the total and every week's total and lowers the dispersion."""
    assume(any(values))
    leftover = WINDOW_DAYS % 7  # the part-week at the window's start is a block of its own
    block = data.draw(st.integers(0, WINDOW_DAYS // 7), label="block")
    lo, hi = (0, leftover) if block == 0 else (leftover + (block - 1) * 7, leftover + block * 7)
    assume(hi - lo >= 2)
    i = data.draw(st.integers(lo, hi - 1), label="from")
    j = data.draw(st.integers(lo, hi - 1), label="to")
    assume(values[i] - values[j] >= 2)
    moved = data.draw(st.integers(1, (values[i] - values[j]) // 2), label="moved")
    steadier, steadier_counts = list(values), list(day_counts)
    steadier[i] -= moved
    steadier[j] += moved
    assert sum(steadier) == sum(values)
    before = score(_inputs(values, day_counts, first))
    after = score(_inputs(steadier, steadier_counts, first))
    assert before is not None and after is not None
    assert after.score >= before.score
    stability_before, stability_after = before.components[2], after.components[2]
    assert stability_before.name == "stability" and stability_after.value >= stability_before.value  # type: ignore[operator]
    assert after.components[1] == before.components[1]  # the trend sees the same weeks


@given(daily_values, counts, before_window, st.integers(0, 30), st.integers(1, 5))
def test_moreRefunds_neverRaiseTheScore(
    values: list[int], day_counts: list[int], first: date, refunds: int, more: int
) -> None:
    assume(any(values))
    fewer = score(_inputs(values, day_counts, first, refunds=refunds))
    worse = score(_inputs(values, day_counts, first, refunds=refunds + more))
    assert fewer is not None and worse is not None and worse.score <= fewer.score


def test_aSteadyYearLongMerchant_scoresAsTheFormulaSays() -> None:
    """Rp 500.000 every day for 90 days, a year on the platform, no refunds, 10 equal payers."""
    steady = _inputs(
        [50_000_000] * WINDOW_DAYS, [10] * WINDOW_DAYS, AS_OF - timedelta(days=400), payer_counts=(90,) * 10
    )
    result = score(steady)
    assert result is not None
    values = {c.name: c.value for c in result.components}
    # Rp 15.000.000 a month = 150 x the floor: (7 + 150/128 - 1) / (8 + 500/256 - 1) of the way up.
    assert values["volume"] == (7 + Fraction(150, 128) - 1) / (8 + Fraction(500, 256) - 1)
    assert values["trend"] == Fraction(1, 2)
    assert values["stability"] == values["active_days"] == values["refunds_disputes"] == values["tenure"] == 1
    assert values["customer_diversity"] == Fraction(9, 10)
    v = values["volume"]
    assert v is not None
    expected = (2000 * v + 1500 * Fraction(1, 2) + 2000 + 1500 + 1000 * Fraction(9, 10) + 1000 + 1000) / 10
    assert result.score == int(expected + Fraction(1, 2))


def test_piecewiseLog2_isExactAtPowersOfTwo_increasing_andClose() -> None:
    xs = [Fraction(n, 4) for n in range(4, 4000)]
    logs = [piecewise_log2(x) for x in xs]
    assert all(a < b for a, b in pairwise(logs))
    assert [piecewise_log2(Fraction(2**k)) for k in range(12)] == list(range(12))
    assert all(0 <= log2(x) - float(y) < 0.087 for x, y in zip(xs, logs, strict=True))


def test_inconsistentInputs_areRefused() -> None:
    with pytest.raises(InvalidLdciInputsError):
        LdciInputs(AS_OF, (DayFigures(1, 0),) * WINDOW_DAYS)
    with pytest.raises(InvalidLdciInputsError):
        LdciInputs(AS_OF, (DayFigures(0, 0),) * 6)
    with pytest.raises(InvalidLdciInputsError):
        LdciInputs(AS_OF, (DayFigures(0, 0),) * WINDOW_DAYS, refunds=-1)
    with pytest.raises(InvalidLdciInputsError):
        LdciInputs(AS_OF, (DayFigures(0, 0),) * WINDOW_DAYS, first_settled=AS_OF + timedelta(days=1))
