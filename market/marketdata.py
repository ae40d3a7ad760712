"""Public market data derived from fills: last price, the trade list and OHLCV candles.

All values are integers: prices in sen per tonne, volumes in tonnes, ``value`` in sen, times in ms.
Trades are kept per token in fill-sequence order (optionally only the latest ``max_trades``); a fill
rolled back after failed settlement is removed, because it never happened (candles are computed from
the trades on demand, so they follow).
"""

from __future__ import annotations

from dataclasses import dataclass

from market.orders import Fill


@dataclass(frozen=True, slots=True)
class Candle:
    """Open/high/low/close/volume of the trades in ``[start, start + interval)``."""

    start: int
    open: int
    high: int
    low: int
    close: int
    volume: int
    value: int
    trades: int


class MarketData:
    """Trades per token and the views built from them."""

    __slots__ = ("_trades", "max_trades")

    def __init__(self, max_trades: int | None = None) -> None:
        self._trades: dict[int, dict[int, Fill]] = {}
        self.max_trades = max_trades
        """Keep at most this many latest trades per token (None: all); older ones live in the database."""

    def record(self, fill: Fill) -> None:
        """Add a fill as a trade."""
        trades = self._trades.get(fill.token_id)
        if trades is None:
            trades = self._trades[fill.token_id] = {}
        trades[fill.sequence] = fill
        if self.max_trades is not None and len(trades) > self.max_trades:
            del trades[next(iter(trades))]

    def remove(self, fill: Fill) -> None:
        """Forget a trade whose settlement failed."""
        self._trades.get(fill.token_id, {}).pop(fill.sequence, None)

    def trades(self, token_id: int, since: int | None = None) -> list[Fill]:
        """Trades of ``token_id`` in execution order, optionally only those at or after ``since`` (ms)."""
        fills = list(self._trades.get(token_id, {}).values())
        if since is None:
            return fills
        return [f for f in fills if f.timestamp >= since]

    def last_price(self, token_id: int) -> int | None:
        """Price of the latest trade of ``token_id``, or None if it never traded."""
        trades = self._trades.get(token_id)
        if not trades:
            return None
        return trades[next(reversed(trades))].price

    def candles(self, token_id: int, interval_ms: int, since: int | None = None) -> list[Candle]:
        """OHLCV candles of ``interval_ms`` aligned to the epoch; intervals without trades are omitted."""
        if interval_ms <= 0:
            raise ValueError(f"interval must be a positive number of ms, got {interval_ms}")
        result: list[Candle] = []
        bucket = -1
        o = h = low = c = volume = value = count = 0
        for fill in sorted(self.trades(token_id, since), key=lambda f: (f.timestamp, f.sequence)):
            start = fill.timestamp - fill.timestamp % interval_ms
            price = fill.price
            if start != bucket:
                if count:
                    result.append(Candle(bucket, o, h, low, c, volume, value, count))
                bucket, o, h, low, volume, value, count = start, price, price, price, 0, 0, 0
            h = max(h, price)
            low = min(low, price)
            c = price
            volume += fill.amount
            value += fill.amount * price
            count += 1
        if count:
            result.append(Candle(bucket, o, h, low, c, volume, value, count))
        return result

    def to_list(self) -> list[Fill]:
        """Every trade, by token then sequence (for the engine snapshot)."""
        return [fill for token in sorted(self._trades) for fill in self._trades[token].values()]
