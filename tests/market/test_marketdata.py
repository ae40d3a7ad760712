"""Market data: last price, trades and OHLCV candles, all integers."""

from __future__ import annotations

import pytest

from market.marketdata import Candle, MarketData
from market.orders import Fill, Side


def fill(sequence: int, price: int, amount: int, at: int, token: int = 1) -> Fill:
    return Fill(sequence, token, f"m{sequence}", f"t{sequence}", "M", "T", Side.BUY, amount, price, at)


def test_last_price_trades_and_remove() -> None:
    data = MarketData()
    assert data.last_price(1) is None
    fills = [fill(1, 100, 1, 0), fill(2, 105, 2, 10), fill(3, 103, 1, 20)]
    for f in fills:
        data.record(f)
    assert data.last_price(1) == 103
    assert data.trades(1, since=10) == fills[1:]
    data.remove(fills[2])
    assert data.last_price(1) == 105
    assert data.trades(2) == []


def test_candles() -> None:
    data = MarketData()
    for f in [fill(1, 100, 1, 0), fill(2, 110, 2, 30), fill(3, 95, 1, 59), fill(4, 101, 5, 120)]:
        data.record(f)
    assert data.candles(1, 60) == [
        Candle(0, 100, 110, 95, 95, 4, 100 + 220 + 95, 3),
        Candle(120, 101, 101, 101, 101, 5, 505, 1),
    ]
    assert data.candles(1, 60, since=100) == [Candle(120, 101, 101, 101, 101, 5, 505, 1)]
    with pytest.raises(ValueError):
        data.candles(1, 0)


def test_retention_keeps_latest_trades() -> None:
    data = MarketData(max_trades=2)
    for i in range(1, 5):
        data.record(fill(i, 100 + i, 1, i))
    assert [f.sequence for f in data.trades(1)] == [3, 4]
