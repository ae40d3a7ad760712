"""Orders and fills as plain records."""

from __future__ import annotations

import json

from market.orders import CancelReason, Fill, Order, OrderStatus, Side


def test_side_opposite() -> None:
    assert Side.BUY.opposite is Side.SELL
    assert Side.SELL.opposite is Side.BUY
    assert Side.BUY == "buy"


def test_order_round_trips_through_json() -> None:
    order = Order("h", "0xa", "A", Side.SELL, 7, 10, 12_345, expiry=99, sequence=3, timestamp=5, remaining=4)
    order.filled, order.cancelled = 5, 1
    order.status, order.cancel_reason = OrderStatus.CANCELLED, CancelReason.SELF_MATCH
    assert Order.from_dict(json.loads(json.dumps(order.to_dict()))) == order


def test_fill_sides_value_and_round_trip() -> None:
    fill = Fill(1, 7, "m", "t", "M", "T", Side.BUY, 3, 1_000, 42)
    assert (fill.buy_order_id, fill.sell_order_id, fill.value) == ("t", "m", 3_000)
    sold = Fill(2, 7, "m", "t", "M", "T", Side.SELL, 3, 1_000, 42)
    assert (sold.buy_order_id, sold.sell_order_id) == ("m", "t")
    assert Fill.from_dict(json.loads(json.dumps(fill.to_dict()))) == fill
