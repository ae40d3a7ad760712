"""The matching engine: order books per token, safeguards, market data and settlement feedback.

``submit`` is atomic: the order is validated, its match is *planned* on the unchanged book, the planned
fills are checked against the daily limits and the price-move halt, and only then is anything applied.
Any :class:`~common.errors.MSCError` raised by ``submit`` means nothing changed (a
:class:`~market.errors.PriceMoveHaltError` additionally halts the token's market).

Settlement feedback. Every fill is *pending* until the settlement side calls :meth:`confirm_fill` (it
settled on-chain) or :meth:`rollback_fill` (it failed). Rolling back a fill:

* gives the maker its tonnes back: added in place if it still rests, or reinstated at its original time
  priority if the fill had completed it; if the maker was cancelled or expired meanwhile, or reinstating it
  would now cross the book (a later order took its price), the tonnes are counted as cancelled instead;
* cancels the taker: its tonnes of the fill and any remainder still resting count as cancelled. The
  taker crossed the maker, so it cannot rest next to the restored maker without crossing the book or
  trading with the same counterparty again; its owner can submit a new order once settlement is fixed.
  Because of this, rolling back every fill of the latest order (in any order) restores the exact book
  that was there before that order arrived.

Retention: the engine keeps open orders and orders with pending fills; a finished order is forgotten once
its last fill is confirmed or rolled back. Order ids ever accepted are remembered to refuse replays.

Invariants (checked by the tests): see :mod:`market.orders` and :mod:`market.book`; in addition, for each
beneficial owner ``safeguards.open_volume`` equals the tonnes it has resting in all books.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from market.book import MatchPlan, OrderBook, StpPolicy
from market.errors import (
    DuplicateOrderError,
    FillNotPendingError,
    OrderNotOpenError,
    PriceMoveHaltError,
    UnknownOrderError,
)
from market.marketdata import MarketData
from market.orders import DAY_MS, CancelReason, Fill, Order, OrderStatus, Side
from market.safeguards import SafeguardConfig, Safeguards

Clock = Callable[[], int]
"""Returns the current time in integer milliseconds since the Unix epoch (UTC)."""

EventSink = Callable[[dict[str, Any]], None]
"""Receives one plain-data event per state change (for an append-only log or SQL persistence)."""

SNAPSHOT_VERSION = 1


@dataclass(frozen=True, slots=True)
class RollbackResult:
    """What :meth:`MatchingEngine.rollback_fill` did, in tonnes."""

    fill: Fill
    maker_restored: int
    maker_cancelled: int
    taker_cancelled: int


class MatchingEngine:
    """Matches orders per token id with price-time priority behind the market safeguards."""

    def __init__(
        self,
        clock: Clock,
        config: SafeguardConfig | None = None,
        stp: StpPolicy = StpPolicy.CANCEL_RESTING,
        on_event: EventSink | None = None,
    ) -> None:
        self._clock = clock
        self.stp = stp
        self.on_event = on_event
        self.safeguards = Safeguards(config or SafeguardConfig())
        self.market_data = MarketData()
        self._books: dict[int, OrderBook] = {}
        self._orders: dict[str, Order] = {}
        self._seen: set[str] = set()
        self._pending: dict[int, Fill] = {}
        self._pending_count: dict[str, int] = {}
        self._next_sequence = 1
        self._next_fill = 1

    # -- queries ---------------------------------------------------------------------------------------

    def now(self) -> int:
        """The injected clock's current time (ms)."""
        return self._clock()

    def book(self, token_id: int) -> OrderBook:
        """The order book of ``token_id`` (empty if nothing rests there yet)."""
        book = self._books.get(token_id)
        if book is None:
            book = self._books[token_id] = OrderBook(token_id)
        return book

    def books(self) -> dict[int, OrderBook]:
        """All books by token id (read-only use)."""
        return self._books

    def order(self, order_id: str) -> Order:
        """A retained order (open, or finished with fills still pending settlement)."""
        order = self._orders.get(order_id)
        if order is None:
            raise UnknownOrderError(
                f"order {order_id} is not open and has no pending fills", order_id=order_id
            )
        return order

    def open_orders(self) -> list[Order]:
        """Every live resting order, by token then priority."""
        return [
            order
            for token in sorted(self._books)
            for side in (self._books[token].bids, self._books[token].asks)
            for order in side.orders_in_priority()
        ]

    def pending_fills(self) -> list[Fill]:
        """Fills awaiting settlement, oldest first."""
        return list(self._pending.values())

    # -- admin -----------------------------------------------------------------------------------------

    def set_reference_price(self, token_id: int, price: int, as_of: int | None = None) -> None:
        """Record the reference price (sen/t) of ``token_id``, published at ``as_of`` (default: now)."""
        when = self._clock() if as_of is None else as_of
        self.safeguards.set_reference(token_id, price, when)
        if self.on_event is not None:
            self.on_event({"type": "reference", "token_id": token_id, "price": price, "as_of": when})

    def resume(self, token_id: int) -> None:
        """Lift the halt of ``token_id`` before the UTC day ends."""
        self.safeguards.resume(token_id)
        if self.on_event is not None:
            self.on_event({"type": "resume", "token_id": token_id})

    # -- trading ---------------------------------------------------------------------------------------

    def submit(self, order: Order) -> list[Fill]:
        """Validate, match and (if anything is left) rest ``order``; returns its fills, best price first.

        The engine takes ownership of ``order`` and sets its sequence, timestamp and state. Raises a
        :class:`~common.errors.MSCError` subclass, with nothing changed, if any safeguard refuses it.
        """
        now = self._clock()
        guards = self.safeguards
        if now // DAY_MS != guards.day:
            guards.roll(now)
        guards.check_order(order, now)
        order_id = order.order_id
        if order_id in self._seen:
            raise DuplicateOrderError(f"order {order_id} was already submitted", order_id=order_id)
        token = order.token_id
        book = self._books.get(token)
        if book is None:
            book = OrderBook(token)
        amount = order.amount
        plan = book.plan(order, now, self.stp)
        if plan.trades:
            try:
                guards.check_fills(token, plan)
            except PriceMoveHaltError as halt:
                if self.on_event is not None:
                    self.on_event({"type": "halt", "time": now, "token_id": token, **halt.details})
                raise
        # Commit: nothing below can fail.
        self._books[token] = book
        self._seen.add(order_id)
        order.sequence = self._next_sequence
        self._next_sequence += 1
        order.timestamp = now
        order.filled = plan.filled
        order.cancelled = 0
        order.cancel_reason = None
        open_volume = guards.open_volume
        for maker in plan.self_match_cancels:
            open_volume[maker.beneficial_owner] -= maker.remaining
        for maker in plan.expired:
            open_volume[maker.beneficial_owner] -= maker.remaining
        book.commit(plan)
        fills = self._record_fills(order, plan, now) if plan.trades else []
        leftover = amount - plan.filled
        if leftover and plan.cancel_taker:
            order.remaining = 0
            order.cancelled = leftover
            order.status = OrderStatus.CANCELLED
            order.cancel_reason = CancelReason.SELF_MATCH
        elif leftover:
            order.remaining = leftover
            order.status = OrderStatus.OPEN
            book.side(order.side).add(order)
            account = order.beneficial_owner
            open_volume[account] = open_volume.get(account, 0) + leftover
        else:
            order.remaining = 0
            order.status = OrderStatus.FILLED
        if order.remaining or fills:
            self._orders[order_id] = order
        for maker in plan.self_match_cancels:
            self._forget_if_done(maker)
        for maker in plan.expired:
            self._forget_if_done(maker)
        if self.on_event is not None:
            changed = [order, *(m for m, _ in plan.trades), *plan.self_match_cancels, *plan.expired]
            self.on_event(
                {
                    "type": "submit",
                    "time": now,
                    "orders": [o.to_dict() for o in changed],
                    "fills": [f.to_dict() for f in fills],
                }
            )
        return fills

    def _record_fills(self, taker: Order, plan: MatchPlan, now: int) -> list[Fill]:
        """Turn the committed trades of ``plan`` into fills and count them everywhere."""
        guards = self.safeguards
        account_traded, open_volume = guards.account_traded, guards.open_volume
        pending, pending_count, record = self._pending, self._pending_count, self.market_data.record
        taker_id, taker_account, taker_side, token = (
            taker.order_id,
            taker.beneficial_owner,
            taker.side,
            taker.token_id,
        )
        fills: list[Fill] = []
        sequence = self._next_fill
        for maker, quantity in plan.trades:
            maker_account = maker.beneficial_owner
            fill = Fill(
                sequence,
                token,
                maker.order_id,
                taker_id,
                maker_account,
                taker_account,
                taker_side,
                quantity,
                maker.price,
                now,
            )
            sequence += 1
            fills.append(fill)
            record(fill)
            pending[fill.sequence] = fill
            pending_count[maker.order_id] = pending_count.get(maker.order_id, 0) + 1
            account_traded[maker_account] = account_traded.get(maker_account, 0) + quantity
            open_volume[maker_account] -= quantity
        self._next_fill = sequence
        pending_count[taker_id] = pending_count.get(taker_id, 0) + len(fills)
        account_traded[taker_account] = account_traded.get(taker_account, 0) + plan.filled
        guards.market_traded[token] = guards.market_traded.get(token, 0) + plan.filled
        guards.day_open.setdefault(token, fills[0].price)
        return fills

    def cancel(self, order_id: str, reason: CancelReason = CancelReason.USER) -> Order:
        """Cancel the rest of an open order; returns it (status CANCELLED). Allowed while halted.

        ``reason`` is USER for a trader's cancel; the settler passes SETTLEMENT_FAILED for an order whose
        fill failed on-chain because of the order itself (it would fail again).
        """
        order = self._orders.get(order_id)
        if order is None:
            if order_id in self._seen:
                raise OrderNotOpenError(f"order {order_id} is no longer open", order_id=order_id)
            raise UnknownOrderError(f"order {order_id} is unknown", order_id=order_id)
        if order.status is not OrderStatus.OPEN:
            raise OrderNotOpenError(f"order {order_id} is {order.status}, not open", order_id=order_id)
        quantity = self._books[order.token_id].kill(order, OrderStatus.CANCELLED, reason)
        self.safeguards.open_volume[order.beneficial_owner] -= quantity
        self._forget_if_done(order)
        if self.on_event is not None:
            self.on_event({"type": "cancel", "time": self._clock(), "orders": [order.to_dict()]})
        return order

    def expire_orders(self) -> list[Order]:
        """Remove every resting order whose expiry has passed (matching also skips them lazily)."""
        now = self._clock()
        expired = [
            order
            for book in self._books.values()
            for side in (book.bids, book.asks)
            for order in side.orders_in_priority()
            if order.expiry is not None and order.expiry <= now
        ]
        for order in expired:
            quantity = self._books[order.token_id].kill(order, OrderStatus.EXPIRED, CancelReason.EXPIRED)
            self.safeguards.open_volume[order.beneficial_owner] -= quantity
            self._forget_if_done(order)
        if expired and self.on_event is not None:
            self.on_event({"type": "expire", "time": now, "orders": [o.to_dict() for o in expired]})
        return expired

    # -- settlement feedback ---------------------------------------------------------------------------

    def _take_pending(self, fill: Fill) -> Fill:
        stored = self._pending.get(fill.sequence)
        if stored is None or stored != fill:
            raise FillNotPendingError(
                f"fill #{fill.sequence} is not pending settlement (unknown, confirmed or rolled back)",
                sequence=fill.sequence,
            )
        del self._pending[fill.sequence]
        return stored

    def confirm_fill(self, fill: Fill) -> None:
        """Mark a fill as settled on-chain; finished orders with no pending fill left are forgotten."""
        self._take_pending(fill)
        self._release(fill)
        if self.on_event is not None:
            self.on_event({"type": "confirm", "time": self._clock(), "fill": fill.to_dict()})

    def rollback_fill(self, fill: Fill) -> RollbackResult:
        """Undo a fill whose on-chain settlement failed (see the module docstring for the rules)."""
        self._take_pending(fill)
        now = self._clock()
        guards = self.safeguards
        if now // DAY_MS != guards.day:
            guards.roll(now)
        open_volume = guards.open_volume
        book = self._books[fill.token_id]
        quantity = fill.amount
        maker = self._orders[fill.maker_order_id]
        taker = self._orders[fill.taker_order_id]

        taker_cancelled = quantity
        if taker.status is OrderStatus.OPEN:
            resting = book.kill(taker, OrderStatus.CANCELLED, CancelReason.ROLLBACK)
            open_volume[taker.beneficial_owner] -= resting
            taker_cancelled += resting
        elif taker.status is OrderStatus.FILLED:
            taker.status = OrderStatus.CANCELLED
            taker.cancel_reason = CancelReason.ROLLBACK
        taker.filled -= quantity
        taker.cancelled += quantity

        maker.filled -= quantity
        live = maker.expiry is None or maker.expiry > now
        restored = 0
        if maker.status is OrderStatus.OPEN and live:
            book.side(maker.side).grow(maker, quantity)
            restored = quantity
        elif maker.status is OrderStatus.OPEN:
            open_volume[maker.beneficial_owner] -= book.kill(maker, OrderStatus.EXPIRED, CancelReason.EXPIRED)
            maker.cancelled += quantity
        elif maker.status is OrderStatus.FILLED and live and not book.would_cross(maker.side, maker.price):
            maker.remaining = quantity
            maker.status = OrderStatus.OPEN
            book.side(maker.side).reinstate(maker)
            restored = quantity
        else:
            if maker.status is OrderStatus.FILLED:
                maker.status = OrderStatus.CANCELLED if live else OrderStatus.EXPIRED
                maker.cancel_reason = CancelReason.ROLLBACK_CROSSED if live else CancelReason.EXPIRED
            maker.cancelled += quantity
        if restored:
            open_volume[maker.beneficial_owner] = open_volume.get(maker.beneficial_owner, 0) + restored

        if fill.timestamp // DAY_MS == guards.day:
            for account in (fill.maker_account, fill.taker_account):
                guards.account_traded[account] -= quantity
            guards.market_traded[fill.token_id] -= quantity
        self.market_data.remove(fill)
        self._release(fill)
        if self.on_event is not None:
            self.on_event(
                {
                    "type": "rollback",
                    "time": now,
                    "fill": fill.to_dict(),
                    "orders": [maker.to_dict(), taker.to_dict()],
                }
            )
        return RollbackResult(fill, restored, quantity - restored, taker_cancelled)

    def _release(self, fill: Fill) -> None:
        """Drop one pending-fill reference from both orders of ``fill``."""
        for order_id in (fill.maker_order_id, fill.taker_order_id):
            count = self._pending_count[order_id] - 1
            if count:
                self._pending_count[order_id] = count
            else:
                del self._pending_count[order_id]
                self._forget_if_done(self._orders[order_id])

    def _forget_if_done(self, order: Order) -> None:
        """Stop retaining a finished order once no fill of it awaits settlement."""
        if order.status is not OrderStatus.OPEN and order.order_id not in self._pending_count:
            self._orders.pop(order.order_id, None)

    # -- persistence -----------------------------------------------------------------------------------

    def snapshot(self) -> dict[str, Any]:
        """The whole engine state as JSON-compatible plain data; :meth:`restore` rebuilds it exactly."""
        return {
            "version": SNAPSHOT_VERSION,
            "stp": str(self.stp),
            "next_sequence": self._next_sequence,
            "next_fill": self._next_fill,
            "safeguards": self.safeguards.to_dict(),
            "orders": [order.to_dict() for order in self._orders.values()],
            "books": [
                [
                    token,
                    [o.order_id for o in self._books[token].bids.orders_in_priority()],
                    [o.order_id for o in self._books[token].asks.orders_in_priority()],
                ]
                for token in sorted(self._books)
            ],
            "pending": [fill.to_dict() for fill in self._pending.values()],
            "trades": [fill.to_dict() for fill in self.market_data.to_list()],
            "seen": sorted(self._seen),
        }

    @classmethod
    def restore(
        cls, snapshot: dict[str, Any], clock: Clock, on_event: EventSink | None = None
    ) -> MatchingEngine:
        """Rebuild an engine from :meth:`snapshot` output: same books in the same priority, same counters."""
        if snapshot.get("version") != SNAPSHOT_VERSION:
            raise ValueError(f"unsupported snapshot version {snapshot.get('version')!r}")
        engine = cls(clock, stp=StpPolicy(snapshot["stp"]), on_event=on_event)
        engine.safeguards = Safeguards.from_dict(snapshot["safeguards"])
        engine._next_sequence = snapshot["next_sequence"]
        engine._next_fill = snapshot["next_fill"]
        engine._seen = set(snapshot["seen"])
        for data in snapshot["orders"]:
            order = Order.from_dict(data)
            engine._orders[order.order_id] = order
        for token, bids, asks in snapshot["books"]:
            book = engine._books[token] = OrderBook(token)
            for side, ids in ((Side.BUY, bids), (Side.SELL, asks)):
                book_side = book.side(side)
                for order_id in ids:
                    book_side.add(engine._orders[order_id])
        for data in snapshot["pending"]:
            fill = Fill.from_dict(data)
            engine._pending[fill.sequence] = fill
            for order_id in (fill.maker_order_id, fill.taker_order_id):
                engine._pending_count[order_id] = engine._pending_count.get(order_id, 0) + 1
        for data in snapshot["trades"]:
            engine.market_data.record(Fill.from_dict(data))
        return engine
