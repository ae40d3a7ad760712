"""A limit order book for one token id: price-time priority, partial fills, self-match prevention.

Layout. Each side keeps its price levels in a dict keyed by a *sort key* (``price`` for bids,
``-price`` for asks) plus one ascending list of those keys, so the best level is always ``keys[-1]``.
A level is a deque of orders in time priority (ascending ``sequence``); a cancel only marks the order
dead (``remaining == 0``) and fixes the level's aggregates, and dead entries are dropped when they reach
the front or when a level is more than half dead (lazy deletion). Costs: adding to an existing level and
cancelling are O(1); a new or emptied level costs one binary search plus a pointer move over the level
keys (levels are few: the price band bounds them); matching costs O(fills + dead entries skipped).

Matching is two-phase so the engine can be atomic: :meth:`OrderBook.plan` walks the opposite side
without changing anything and returns a :class:`MatchPlan`; the engine checks its safeguards against the
planned fills and only then calls :meth:`OrderBook.commit`.

Invariants (checked by the tests):

* The book is never crossed or locked: best bid < best ask whenever both exist.
* Every live order (``remaining > 0``) sits in exactly one level of its side, at its own price, and each
  level's deque is sorted by ``sequence``; ``level.volume``/``level.live`` are the sum of ``remaining`` and
  the count of its live orders; a level with no live order does not exist.
* Fills take the best price first and, within a price, the lowest sequence first; the fill price is the
  maker's price.
* Two orders of the same beneficial owner never fill against each other.
"""

from __future__ import annotations

from bisect import bisect_left, insort
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from enum import StrEnum

from market.orders import CancelReason, Order, OrderStatus, Side

_COMPACT_SLACK = 8
"""A level is rebuilt without dead entries once it holds more than ``2 * live + _COMPACT_SLACK`` orders."""


class StpPolicy(StrEnum):
    """What happens when an incoming order would trade with a resting order of the same beneficial owner."""

    CANCEL_RESTING = "cancel_resting"
    """"Cancel oldest": the resting order is cancelled and matching continues with the next one."""
    CANCEL_TAKER = "cancel_taker"
    """"Cancel newest": the rest of the incoming order is cancelled; the resting order stays."""
    CANCEL_BOTH = "cancel_both"
    """Both the resting order and the rest of the incoming order are cancelled."""


class PriceLevel:
    """All resting orders at one price on one side, in time priority."""

    __slots__ = ("live", "orders", "price", "volume")

    def __init__(self, price: int) -> None:
        self.price = price
        self.orders: deque[Order] = deque()
        self.volume = 0
        self.live = 0


@dataclass(slots=True)
class MatchPlan:
    """What matching an incoming order would do, computed without changing the book."""

    trades: list[tuple[Order, int]] = field(default_factory=list)
    """(maker, tonnes) in execution order."""
    self_match_cancels: list[Order] = field(default_factory=list)
    """Resting orders cancelled by self-match prevention."""
    expired: list[Order] = field(default_factory=list)
    """Resting orders found expired on the way (removed when the plan is committed)."""
    cancel_taker: bool = False
    """True when self-match prevention cancels the rest of the incoming order."""
    filled: int = 0
    """Total tonnes the incoming order trades."""
    maker_side: Side = Side.SELL
    """The side the makers rest on (opposite to the incoming order)."""


class BookSide:
    """One side (bids or asks) of a book."""

    __slots__ = ("keys", "levels", "side", "sign")

    def __init__(self, side: Side) -> None:
        self.side = side
        self.sign = 1 if side is Side.BUY else -1
        self.keys: list[int] = []
        self.levels: dict[int, PriceLevel] = {}

    def best_price(self) -> int | None:
        """The best price on this side (highest bid, lowest ask), or None when empty."""
        return self.keys[-1] * self.sign if self.keys else None

    def add(self, order: Order) -> None:
        """Append a live order at the back of its price level (it is the newest at that price)."""
        key = order.price * self.sign
        level = self.levels.get(key)
        if level is None:
            level = self.levels[key] = PriceLevel(order.price)
            insort(self.keys, key)
        level.orders.append(order)
        level.volume += order.remaining
        level.live += 1

    def reinstate(self, order: Order) -> None:
        """Put a live order back at its original time priority (by ``sequence``) within its level."""
        key = order.price * self.sign
        level = self.levels.get(key)
        if level is None or not level.orders or level.orders[-1].sequence < order.sequence:
            self.add(order)
            return
        entries = list(level.orders)
        entries.insert(bisect_left(entries, order.sequence, key=_sequence), order)
        level.orders = deque(entries)
        level.volume += order.remaining
        level.live += 1

    def grow(self, order: Order, quantity: int) -> None:
        """Give a live resting order ``quantity`` more tonnes without changing its place in the queue."""
        order.remaining += quantity
        self.levels[order.price * self.sign].volume += quantity

    def remove(self, order: Order) -> None:
        """Take a live order's remaining volume out of its level (the caller then zeroes ``remaining``)."""
        key = order.price * self.sign
        level = self.levels[key]
        level.volume -= order.remaining
        level.live -= 1
        if level.live == 0:
            del self.levels[key]
            del self.keys[bisect_left(self.keys, key)]
            return
        orders = level.orders
        if orders[0] is order:
            orders.popleft()
            while not orders[0].remaining:
                orders.popleft()
        elif len(orders) > 2 * level.live + _COMPACT_SLACK:
            level.orders = deque(o for o in orders if o.remaining and o is not order)

    def prune_top(self) -> None:
        """Drop emptied best levels and dead orders at the front of the new best level (after a match)."""
        keys, levels = self.keys, self.levels
        while keys and levels[keys[-1]].live == 0:
            del levels[keys.pop()]
        if keys:
            orders = levels[keys[-1]].orders
            while not orders[0].remaining:
                orders.popleft()

    def levels_in_priority(self) -> Iterator[PriceLevel]:
        """Price levels from best to worst."""
        levels = self.levels
        for key in reversed(self.keys):
            yield levels[key]

    def orders_in_priority(self) -> Iterator[Order]:
        """Live orders in matching priority: best price first, then lowest sequence."""
        for level in self.levels_in_priority():
            for order in level.orders:
                if order.remaining:
                    yield order


def _sequence(order: Order) -> int:
    return order.sequence


class OrderBook:
    """The bids and asks of one token id."""

    __slots__ = ("asks", "bids", "token_id")

    def __init__(self, token_id: int) -> None:
        self.token_id = token_id
        self.bids = BookSide(Side.BUY)
        self.asks = BookSide(Side.SELL)

    def side(self, side: Side) -> BookSide:
        """The book side orders of ``side`` rest on."""
        return self.bids if side is Side.BUY else self.asks

    def best_bid(self) -> int | None:
        """Highest resting buy price, or None."""
        return self.bids.best_price()

    def best_ask(self) -> int | None:
        """Lowest resting sell price, or None."""
        return self.asks.best_price()

    def depth(self, levels: int = 10) -> dict[str, list[tuple[int, int, int]]]:
        """Aggregated book: up to ``levels`` (price, tonnes, order count) per side, best first."""
        result: dict[str, list[tuple[int, int, int]]] = {}
        for name, book_side in (("bids", self.bids), ("asks", self.asks)):
            rows: list[tuple[int, int, int]] = []
            for level in book_side.levels_in_priority():
                if len(rows) == levels:
                    break
                rows.append((level.price, level.volume, level.live))
            result[name] = rows
        return result

    def would_cross(self, side: Side, price: int) -> bool:
        """Whether a resting order of ``side`` at ``price`` would cross or lock the opposite side."""
        if side is Side.BUY:
            ask = self.asks.best_price()
            return ask is not None and price >= ask
        bid = self.bids.best_price()
        return bid is not None and price <= bid

    def plan(self, taker: Order, now: int, stp: StpPolicy) -> MatchPlan:
        """Compute, without changing anything, how ``taker`` would match against the opposite side.

        Only the taker's terms are read (``amount``, not ``remaining``), so it need not be initialised yet.
        Walks levels from the best price while they cross the taker's limit and, within a level, orders by
        time priority; skips dead entries, collects expired makers (``expiry <= now``) and applies the
        self-match policy. Fills are at the maker's price.
        """
        book_side = self.asks if taker.side is Side.BUY else self.bids
        plan = MatchPlan(maker_side=book_side.side)
        keys, levels = book_side.keys, book_side.levels
        threshold = taker.price * book_side.sign
        want = taker.amount
        account = taker.beneficial_owner
        index = len(keys) - 1
        trades = plan.trades
        while want and index >= 0 and keys[index] >= threshold:
            for maker in levels[keys[index]].orders:
                available = maker.remaining
                if not available:
                    continue
                if maker.expiry is not None and maker.expiry <= now:
                    plan.expired.append(maker)
                    continue
                if maker.beneficial_owner == account:
                    if stp is StpPolicy.CANCEL_RESTING:
                        plan.self_match_cancels.append(maker)
                        continue
                    if stp is StpPolicy.CANCEL_BOTH:
                        plan.self_match_cancels.append(maker)
                    plan.cancel_taker = True
                    break
                quantity = available if available < want else want
                trades.append((maker, quantity))
                want -= quantity
                if not want:
                    break
            if plan.cancel_taker:
                break
            index -= 1
        plan.filled = taker.amount - want
        return plan

    def commit(self, plan: MatchPlan) -> None:
        """Apply a plan made by :meth:`plan` on this unchanged book: fill, cancel and expire the makers."""
        if not (plan.trades or plan.self_match_cancels or plan.expired):
            return
        book_side = self.asks if plan.maker_side is Side.SELL else self.bids
        levels, sign = book_side.levels, book_side.sign
        for maker, quantity in plan.trades:
            level = levels[maker.price * sign]
            level.volume -= quantity
            maker.remaining -= quantity
            maker.filled += quantity
            if not maker.remaining:
                maker.status = OrderStatus.FILLED
                level.live -= 1
        for maker in plan.self_match_cancels:
            self.kill(maker, OrderStatus.CANCELLED, CancelReason.SELF_MATCH)
        for maker in plan.expired:
            self.kill(maker, OrderStatus.EXPIRED, CancelReason.EXPIRED)
        book_side.prune_top()

    def kill(self, order: Order, status: OrderStatus, reason: CancelReason) -> int:
        """Remove a live resting order from the book, counting its remaining tonnes as cancelled.

        Returns the tonnes cancelled.
        """
        quantity = order.remaining
        self.side(order.side).remove(order)
        order.remaining = 0
        order.cancelled += quantity
        order.status = status
        order.cancel_reason = reason
        return quantity

    def __len__(self) -> int:
        """Number of live resting orders."""
        return sum(level.live for side in (self.bids, self.asks) for level in side.levels.values())
