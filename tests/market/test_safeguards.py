"""Each safeguard refuses with its own typed error, a message naming the limit and values, and no change."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from common.errors import ConflictError, MSCError, ValidationError
from market import errors
from market.engine import MatchingEngine
from market.orders import DAY_MS, Order, Side
from market.safeguards import SafeguardConfig

REF = 10_000
OrderFactory = Callable[..., Order]


def refused(engine: MatchingEngine, order: Order, error: type[MSCError], *words: str) -> MSCError:
    """Submit ``order``, expect ``error`` whose message contains ``words``, and check nothing changed."""
    engine.safeguards.roll(engine.now())  # a new UTC day resets counters whatever happens next
    before = engine.snapshot()
    with pytest.raises(error) as caught:
        engine.submit(order)
    for word in words:
        assert word in caught.value.message
    after = engine.snapshot()
    if not isinstance(caught.value, errors.PriceMoveHaltError):
        assert after == before
    return caught.value


def limited_engine(clock: Any, **config: Any) -> MatchingEngine:
    engine = MatchingEngine(clock, SafeguardConfig(**config))
    engine.set_reference_price(1, REF)
    return engine


@pytest.mark.parametrize(
    ("amount", "price", "words"),
    [
        (0, REF, ["amount must be positive"]),
        (-3, REF, ["-3"]),
        (1.5, REF, ["integers"]),
        (True, REF, ["True"]),
    ],
)
def test_malformed_order(
    engine: MatchingEngine, make_order: OrderFactory, amount: Any, price: int, words: list[str]
) -> None:
    err = refused(engine, make_order(Side.BUY, amount, price), errors.InvalidOrderError, *words)
    assert isinstance(err, ValidationError) and err.status_code == 422


def test_side_must_be_a_side(engine: MatchingEngine, make_order: OrderFactory) -> None:
    order = make_order(Side.BUY, 1, REF)
    order.side = "buy"  # type: ignore[assignment]
    refused(engine, order, errors.InvalidOrderError, "side")


def test_lot_size(clock: Any, make_order: OrderFactory) -> None:
    engine = limited_engine(clock, lot_size=5)
    refused(engine, make_order(Side.BUY, 7, REF), errors.LotSizeError, "7 t", "lot size 5 t")
    engine.submit(make_order(Side.BUY, 10, REF))


def test_minimum_price(clock: Any, make_order: OrderFactory) -> None:
    engine = limited_engine(clock, min_price=9_500, band_bps=9_000)
    refused(engine, make_order(Side.BUY, 1, 9_499), errors.MinimumPriceError, "9499", "minimum price 9500")
    engine.submit(make_order(Side.BUY, 1, 9_500))


@pytest.mark.parametrize(("price", "ok"), [(8_000, True), (7_999, False), (12_000, True), (12_001, False)])
def test_price_band_is_20_percent_by_default(
    engine: MatchingEngine, make_order: OrderFactory, price: int, ok: bool
) -> None:
    order = make_order(Side.SELL, 1, price)
    if ok:
        engine.submit(order)
    else:
        err = refused(engine, order, errors.PriceBandError, str(price), "8000..12000", "20.00%", "10000")
        assert err.details["reference"] == REF


def test_missing_reference(engine: MatchingEngine, make_order: OrderFactory) -> None:
    err = refused(engine, make_order(Side.BUY, 1, REF, token=2), errors.ReferencePriceMissingError, "token 2")
    assert isinstance(err, ConflictError) and err.status_code == 409


def test_stale_reference(engine: MatchingEngine, clock: Any, make_order: OrderFactory) -> None:
    clock.advance(DAY_MS + 1)
    refused(engine, make_order(Side.BUY, 1, REF), errors.StaleReferencePriceError, "maximum age 86400000 ms")
    engine.set_reference_price(1, REF)
    engine.submit(make_order(Side.BUY, 1, REF))


def test_expired_on_arrival(engine: MatchingEngine, clock: Any, make_order: OrderFactory) -> None:
    refused(engine, make_order(Side.BUY, 1, REF, expiry=clock.now), errors.InvalidOrderError, "expiry")


def test_duplicate_order(engine: MatchingEngine, make_order: OrderFactory) -> None:
    engine.submit(make_order(Side.BUY, 1, REF, order_id="same"))
    engine.cancel("same")
    refused(engine, make_order(Side.BUY, 1, REF, order_id="same"), errors.DuplicateOrderError, "same")


def test_account_daily_limit_counts_traded_and_open(clock: Any, make_order: OrderFactory) -> None:
    engine = limited_engine(clock, account_daily_limit=10)
    engine.submit(make_order(Side.SELL, 4, REF, "seller"))
    engine.submit(make_order(Side.BUY, 4, REF, "alice"))  # 4 traded
    engine.submit(make_order(Side.BUY, 5, REF - 1, "alice"))  # 5 open
    err = refused(
        engine,
        make_order(Side.BUY, 2, REF - 1, "alice"),
        errors.AccountDailyLimitError,
        "alice",
        "4 t traded",
        "5 t open",
        "2 t ordered",
        "10 t",
    )
    assert err.details == {"account": "alice", "traded": 4, "open": 5, "amount": 2, "limit": 10}
    engine.submit(make_order(Side.BUY, 1, REF - 1, "alice"))
    clock.advance(DAY_MS)  # new UTC day: traded resets, open orders still count
    engine.set_reference_price(1, REF)
    engine.submit(make_order(Side.BUY, 4, REF - 1, "alice"))
    refused(engine, make_order(Side.BUY, 1, REF - 1, "alice"), errors.AccountDailyLimitError, "0 t traded")


def test_market_daily_limit(clock: Any, make_order: OrderFactory) -> None:
    engine = limited_engine(clock, market_daily_limit=10)
    engine.submit(make_order(Side.SELL, 20, REF, "seller"))
    engine.submit(make_order(Side.BUY, 8, REF, "a"))
    refused(
        engine, make_order(Side.BUY, 3, REF, "b"), errors.MarketDailyLimitError, "8 t traded", "+ 3 t", "10 t"
    )
    engine.submit(make_order(Side.BUY, 2, REF, "b"))
    clock.advance(DAY_MS)
    engine.set_reference_price(1, REF)
    engine.submit(make_order(Side.BUY, 3, REF, "b"))


def test_price_move_halts_the_market(clock: Any, make_order: OrderFactory) -> None:
    engine = limited_engine(clock, halt_move_bps=1_000)
    engine.submit(make_order(Side.SELL, 1, REF, "s"))
    engine.submit(make_order(Side.BUY, 1, REF, "b"))  # day's open: 10000
    engine.submit(make_order(Side.SELL, 1, 11_000, "s"))
    engine.submit(make_order(Side.BUY, 1, 11_000, "b"))  # exactly 10%: allowed
    engine.submit(make_order(Side.SELL, 1, 11_001, "s"))
    book_before = engine.book(1).depth()
    err = refused(engine, make_order(Side.BUY, 1, 11_001, "b"), errors.PriceMoveHaltError, "11001", "10.00%")
    assert err.details["day_open"] == REF
    assert engine.book(1).depth() == book_before
    refused(engine, make_order(Side.SELL, 1, REF, "s"), errors.MarketHaltedError, "halted")
    engine.cancel(engine.open_orders()[0].order_id)  # cancels still work
    clock.advance(DAY_MS)
    engine.set_reference_price(1, REF)
    engine.submit(make_order(Side.SELL, 1, REF, "s"))


def test_resume_lifts_a_halt(clock: Any, make_order: OrderFactory) -> None:
    engine = limited_engine(clock, halt_move_bps=100)
    engine.submit(make_order(Side.SELL, 1, REF, "s"))
    engine.submit(make_order(Side.BUY, 1, REF, "b"))
    engine.submit(make_order(Side.SELL, 1, REF + 200, "s"))
    refused(engine, make_order(Side.BUY, 1, REF + 200, "b"), errors.PriceMoveHaltError)
    engine.resume(1)
    engine.submit(make_order(Side.BUY, 1, REF - 1, "b"))


def test_first_fill_of_day_sets_the_open_for_a_sweep(clock: Any, make_order: OrderFactory) -> None:
    engine = limited_engine(clock, halt_move_bps=1_000)
    engine.submit(make_order(Side.SELL, 1, 9_000, "s"))
    engine.submit(make_order(Side.SELL, 1, 10_000, "s"))
    refused(engine, make_order(Side.BUY, 2, 10_000, "b"), errors.PriceMoveHaltError, "day's open 9000")


def test_reference_price_must_be_a_positive_integer(engine: MatchingEngine) -> None:
    with pytest.raises(errors.InvalidOrderError):
        engine.set_reference_price(1, 0)
    with pytest.raises(errors.InvalidOrderError):
        engine.set_reference_price(1, 10.5)  # type: ignore[arg-type]
