"""Order book: price-time priority, partial fills, cancels, depth and self-match prevention."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from market.book import OrderBook, StpPolicy
from market.engine import MatchingEngine
from market.orders import CancelReason, Order, OrderStatus, Side

REF = 10_000  # the reference price the ``engine`` fixture sets
OrderFactory = Callable[..., Order]


def test_best_price_first_then_earliest(engine: MatchingEngine, make_order: OrderFactory) -> None:
    engine.submit(make_order(Side.SELL, 5, REF + 10, "a", order_id="worse"))
    engine.submit(make_order(Side.SELL, 5, REF, "b", order_id="early"))
    engine.submit(make_order(Side.SELL, 5, REF, "c", order_id="late"))
    fills = engine.submit(make_order(Side.BUY, 12, REF + 10, "d"))
    assert [(f.maker_order_id, f.amount, f.price) for f in fills] == [
        ("early", 5, REF),
        ("late", 5, REF),
        ("worse", 2, REF + 10),
    ]
    assert engine.book(1).depth() == {"bids": [], "asks": [(REF + 10, 3, 1)]}


def test_fill_price_is_the_makers(engine: MatchingEngine, make_order: OrderFactory) -> None:
    engine.submit(make_order(Side.BUY, 5, REF, "a"))
    (fill,) = engine.submit(make_order(Side.SELL, 5, REF - 100, "b"))
    assert fill.price == REF
    assert fill.taker_side is Side.SELL


def test_partial_fill_rests_remainder(engine: MatchingEngine, make_order: OrderFactory) -> None:
    engine.submit(make_order(Side.SELL, 3, REF, "a"))
    taker = make_order(Side.BUY, 10, REF, "b")
    engine.submit(taker)
    assert (taker.filled, taker.remaining, taker.status) == (3, 7, OrderStatus.OPEN)
    assert engine.book(1).best_bid() == REF
    assert engine.book(1).best_ask() is None


def test_cancel_removes_and_keeps_priority_of_others(
    engine: MatchingEngine, make_order: OrderFactory
) -> None:
    for name in ("x", "y", "z"):
        engine.submit(make_order(Side.BUY, 1, REF, name, order_id=name))
    cancelled = engine.cancel("y")
    assert (cancelled.status, cancelled.cancelled, cancelled.remaining) == (OrderStatus.CANCELLED, 1, 0)
    assert cancelled.cancel_reason is CancelReason.USER
    assert [o.order_id for o in engine.book(1).bids.orders_in_priority()] == ["x", "z"]
    assert engine.book(1).depth()["bids"] == [(REF, 2, 2)]


def test_depth_aggregates_and_limits_levels(engine: MatchingEngine, make_order: OrderFactory) -> None:
    for offset in range(5):
        engine.submit(make_order(Side.BUY, 2, REF - offset, "a"))
        engine.submit(make_order(Side.BUY, 3, REF - offset, "b"))
        engine.submit(make_order(Side.SELL, 1, REF + 1 + offset, "c"))
    depth = engine.book(1).depth(levels=2)
    assert depth["bids"] == [(REF, 5, 2), (REF - 1, 5, 2)]
    assert depth["asks"] == [(REF + 1, 1, 1), (REF + 2, 1, 1)]
    assert len(engine.book(1)) == 15


def test_lazy_deletion_compacts_a_level(engine: MatchingEngine, make_order: OrderFactory) -> None:
    ids = [make_order(Side.BUY, 1, REF, "a") for _ in range(100)]
    for order in ids:
        engine.submit(order)
    for order in ids[1:90]:
        engine.cancel(order.order_id)
    level = engine.book(1).bids.levels[REF]
    assert (level.live, level.volume) == (11, 11)
    assert len(level.orders) <= 2 * level.live + 8


def test_stp_cancel_resting(clock: object, make_order: OrderFactory) -> None:
    engine = MatchingEngine(clock, stp=StpPolicy.CANCEL_RESTING)  # type: ignore[arg-type]
    engine.set_reference_price(1, REF)
    own = make_order(Side.SELL, 5, REF, "alice")
    other = make_order(Side.SELL, 5, REF + 1, "bob")
    engine.submit(own)
    engine.submit(other)
    fills = engine.submit(make_order(Side.BUY, 4, REF + 1, "alice"))
    assert [f.maker_order_id for f in fills] == [other.order_id]
    assert (own.status, own.cancel_reason, own.cancelled) == (
        OrderStatus.CANCELLED,
        CancelReason.SELF_MATCH,
        5,
    )


def test_stp_cancel_taker(clock: object, make_order: OrderFactory) -> None:
    engine = MatchingEngine(clock, stp=StpPolicy.CANCEL_TAKER)  # type: ignore[arg-type]
    engine.set_reference_price(1, REF)
    other = make_order(Side.SELL, 2, REF, "bob")
    own = make_order(Side.SELL, 5, REF, "alice")
    engine.submit(other)
    engine.submit(own)
    taker = make_order(Side.BUY, 6, REF + 1, "alice")
    fills = engine.submit(taker)
    assert [(f.maker_order_id, f.amount) for f in fills] == [(other.order_id, 2)]
    assert (taker.filled, taker.cancelled, taker.remaining, taker.status) == (2, 4, 0, OrderStatus.CANCELLED)
    assert (own.status, own.remaining) == (OrderStatus.OPEN, 5)
    assert engine.book(1).best_bid() is None


def test_stp_cancel_both(clock: object, make_order: OrderFactory) -> None:
    engine = MatchingEngine(clock, stp=StpPolicy.CANCEL_BOTH)  # type: ignore[arg-type]
    engine.set_reference_price(1, REF)
    own = make_order(Side.SELL, 5, REF, "alice")
    engine.submit(own)
    taker = make_order(Side.BUY, 6, REF, "alice")
    assert engine.submit(taker) == []
    assert own.status is OrderStatus.CANCELLED and taker.status is OrderStatus.CANCELLED
    assert engine.book(1).depth() == {"bids": [], "asks": []}


def test_plan_does_not_change_the_book(engine: MatchingEngine, make_order: OrderFactory) -> None:
    engine.submit(make_order(Side.SELL, 5, REF, "a"))
    before = engine.snapshot()
    plan = engine.book(1).plan(make_order(Side.BUY, 3, REF, "b"), 0, StpPolicy.CANCEL_RESTING)
    assert plan.filled == 3
    assert engine.snapshot() == before


def test_would_cross() -> None:
    book = OrderBook(1)
    assert not book.would_cross(Side.BUY, 10)
    assert not book.would_cross(Side.SELL, 10)


@pytest.mark.parametrize("side", [Side.BUY, Side.SELL])
def test_reinstate_keeps_original_time_priority(side: Side, make_order: OrderFactory) -> None:
    book = OrderBook(1)
    orders = [make_order(side, 1, REF) for _ in range(4)]
    for sequence, order in enumerate(orders, start=1):
        order.sequence, order.remaining = sequence, 1
    for order in (orders[0], orders[2], orders[3]):
        book.side(side).add(order)
    book.side(side).reinstate(orders[1])
    assert list(book.side(side).orders_in_priority()) == orders
    assert book.side(side).levels[REF if side is Side.BUY else -REF].volume == 4
