"""Engine: cancel, expiry, settlement feedback (confirm / rollback), retention, events and snapshots."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from market.book import StpPolicy
from market.engine import MatchingEngine
from market.errors import FillNotPendingError, OrderNotOpenError, PriceMoveHaltError, UnknownOrderError
from market.orders import CancelReason, Order, OrderStatus, Side
from market.safeguards import SafeguardConfig

REF = 10_000
OrderFactory = Callable[..., Order]


def book_state(engine: MatchingEngine, token: int = 1) -> list[list[tuple[str, int, int]]]:
    """Both sides as (id, price, remaining) in priority order."""
    book = engine.book(token)
    return [
        [(o.order_id, o.price, o.remaining) for o in side.orders_in_priority()]
        for side in (book.bids, book.asks)
    ]


def test_cancel_errors(engine: MatchingEngine, make_order: OrderFactory) -> None:
    with pytest.raises(UnknownOrderError):
        engine.cancel("nope")
    engine.submit(make_order(Side.SELL, 1, REF, "a", order_id="s"))
    engine.submit(make_order(Side.BUY, 1, REF, "b", order_id="t"))
    with pytest.raises(OrderNotOpenError, match="filled"):
        engine.cancel("s")  # retained: its fill is pending
    for fill in engine.pending_fills():
        engine.confirm_fill(fill)
    with pytest.raises(OrderNotOpenError, match="no longer open"):
        engine.cancel("s")  # forgotten, but known as seen


def test_expired_makers_are_skipped_and_swept(
    engine: MatchingEngine, clock: Any, make_order: OrderFactory
) -> None:
    stale = make_order(Side.SELL, 5, REF, "a", expiry=clock.now + 10)
    fresh = make_order(Side.SELL, 5, REF + 1, "b")
    engine.submit(stale)
    engine.submit(fresh)
    clock.advance(10)
    fills = engine.submit(make_order(Side.BUY, 2, REF + 1, "c"))
    assert [f.maker_order_id for f in fills] == [fresh.order_id]
    assert (stale.status, stale.cancelled, stale.cancel_reason) == (
        OrderStatus.EXPIRED,
        5,
        CancelReason.EXPIRED,
    )
    late = make_order(Side.BUY, 1, REF - 5, "d", expiry=clock.now + 5)
    engine.submit(late)
    clock.advance(5)
    assert engine.expire_orders() == [late]
    assert engine.book(1).best_bid() is None
    assert engine.safeguards.open_volume == {"a": 0, "b": 3, "d": 0}


def test_confirm_twice_or_after_rollback_is_refused(engine: MatchingEngine, make_order: OrderFactory) -> None:
    engine.submit(make_order(Side.SELL, 2, REF, "a"))
    (fill,) = engine.submit(make_order(Side.BUY, 2, REF, "b"))
    engine.confirm_fill(fill)
    with pytest.raises(FillNotPendingError):
        engine.confirm_fill(fill)
    with pytest.raises(FillNotPendingError):
        engine.rollback_fill(fill)
    assert engine.snapshot()["orders"] == []  # both finished and settled: forgotten


def test_rollback_reinstates_filled_maker_at_original_priority(
    engine: MatchingEngine, make_order: OrderFactory
) -> None:
    first = make_order(Side.SELL, 2, REF, "a", order_id="first")
    engine.submit(first)
    engine.submit(make_order(Side.SELL, 3, REF, "b", order_id="second"))
    before = book_state(engine)
    taker = make_order(Side.BUY, 2, REF, "c")
    (fill,) = engine.submit(taker)
    assert book_state(engine) == [[], [("second", REF, 3)]]
    result = engine.rollback_fill(fill)
    assert (result.maker_restored, result.maker_cancelled, result.taker_cancelled) == (2, 0, 2)
    assert book_state(engine) == before
    assert (first.status, first.filled, first.remaining) == (OrderStatus.OPEN, 0, 2)
    assert (taker.status, taker.filled, taker.cancelled, taker.cancel_reason) == (
        OrderStatus.CANCELLED,
        0,
        2,
        CancelReason.ROLLBACK,
    )
    assert engine.market_data.last_price(1) is None
    assert engine.safeguards.market_traded == {1: 0}


def test_rollback_cancels_resting_taker_and_restores_partial_maker(
    engine: MatchingEngine, make_order: OrderFactory
) -> None:
    maker = make_order(Side.BUY, 10, REF, "a")
    engine.submit(maker)
    taker = make_order(Side.SELL, 4, REF, "b")
    (fill,) = engine.submit(taker)
    engine.submit(make_order(Side.BUY, 1, REF, "x"))
    engine.submit(make_order(Side.SELL, 5, REF + 5, "b"))
    result = engine.rollback_fill(fill)
    assert (result.maker_restored, result.taker_cancelled) == (4, 4)
    assert (maker.remaining, maker.filled) == (10, 0)
    assert engine.book(1).depth()["bids"] == [(REF, 11, 2)]
    assert next(o.order_id for o in engine.book(1).bids.orders_in_priority()) == maker.order_id


def test_rollback_of_a_partially_resting_taker(engine: MatchingEngine, make_order: OrderFactory) -> None:
    engine.submit(make_order(Side.SELL, 4, REF, "a", order_id="maker"))
    taker = make_order(Side.BUY, 10, REF + 10, "b")
    (fill,) = engine.submit(taker)
    assert engine.book(1).best_bid() == REF + 10
    result = engine.rollback_fill(fill)
    assert result.taker_cancelled == 10
    assert (taker.filled, taker.remaining, taker.cancelled) == (0, 0, 10)
    assert book_state(engine) == [[], [("maker", REF, 4)]]
    assert engine.safeguards.open_volume == {"a": 4, "b": 0}


def test_rollback_never_crosses_the_book(engine: MatchingEngine, make_order: OrderFactory) -> None:
    maker = make_order(Side.SELL, 2, REF, "a")
    engine.submit(maker)
    (fill,) = engine.submit(make_order(Side.BUY, 2, REF, "b"))
    engine.submit(make_order(Side.BUY, 3, REF + 1, "c"))  # now a bid above the maker's price rests
    result = engine.rollback_fill(fill)
    assert (result.maker_restored, result.maker_cancelled) == (0, 2)
    assert (maker.status, maker.cancel_reason, maker.cancelled) == (
        OrderStatus.CANCELLED,
        CancelReason.ROLLBACK_CROSSED,
        2,
    )
    assert engine.book(1).best_ask() is None


def test_rollback_after_maker_cancelled(engine: MatchingEngine, make_order: OrderFactory) -> None:
    maker = make_order(Side.SELL, 5, REF, "a")
    engine.submit(maker)
    (fill,) = engine.submit(make_order(Side.BUY, 2, REF, "b"))
    engine.cancel(maker.order_id)
    engine.rollback_fill(fill)
    assert (maker.filled, maker.remaining, maker.cancelled) == (0, 0, 5)
    assert engine.book(1).best_ask() is None


def test_snapshot_is_json_and_restores_identical_engine(
    engine: MatchingEngine, clock: Any, make_order: OrderFactory
) -> None:
    for i in range(6):
        engine.submit(make_order(Side.SELL, 2, REF + i % 3, f"s{i}"))
        engine.submit(make_order(Side.BUY, 1, REF - 1 - i % 2, f"b{i}"))
    engine.submit(make_order(Side.BUY, 3, REF + 1, "x"))
    snapshot = json.loads(json.dumps(engine.snapshot()))
    restored = MatchingEngine.restore(snapshot, clock)
    assert restored.snapshot() == engine.snapshot()
    for target in (engine, restored):
        fills = target.submit(make_order(Side.BUY, 5, REF + 2, "y", order_id="same"))
        target.cancel(target.open_orders()[0].order_id)
    assert restored.snapshot() == engine.snapshot()
    assert [f.to_dict() for f in fills] == [
        f.to_dict() for f in restored.market_data.trades(1)[-len(fills) :]
    ]
    with pytest.raises(ValueError, match="version"):
        MatchingEngine.restore({"version": 0}, clock)


def test_events_describe_every_change(clock: Any, make_order: OrderFactory) -> None:
    events: list[dict[str, Any]] = []
    engine = MatchingEngine(clock, stp=StpPolicy.CANCEL_TAKER, on_event=events.append)
    engine.set_reference_price(1, REF)
    engine.submit(make_order(Side.SELL, 2, REF, "a", order_id="m"))
    (fill,) = engine.submit(make_order(Side.BUY, 1, REF, "b", order_id="t"))
    engine.cancel("m")
    engine.rollback_fill(fill)
    assert [e["type"] for e in events] == ["reference", "submit", "submit", "cancel", "rollback"]
    assert [o["order_id"] for o in events[2]["orders"]] == ["t", "m"]
    assert events[2]["fills"] == [fill.to_dict()]
    json.dumps(events)


def test_a_halt_is_an_event(clock: Any, make_order: OrderFactory) -> None:
    events: list[dict[str, Any]] = []
    engine = MatchingEngine(clock, SafeguardConfig(halt_move_bps=100), on_event=events.append)
    engine.set_reference_price(1, REF)
    engine.submit(make_order(Side.SELL, 1, REF, "a"))
    engine.submit(make_order(Side.BUY, 1, REF, "b"))
    engine.submit(make_order(Side.SELL, 1, REF + 101, "a"))
    with pytest.raises(PriceMoveHaltError):
        engine.submit(make_order(Side.BUY, 1, REF + 101, "b"))
    assert events[-1] == {
        "type": "halt",
        "time": clock.now,
        "token_id": 1,
        "price": REF + 101,
        "day_open": REF,
        "halt_move_bps": 100,
    }
