"""The carbon market as one service: acceptance checks, the matching engine, SQL persistence, settlement
feedback.

Write path. Every operation runs under one lock: the engine changes in memory and reports its events;
those events are written to SQL in one transaction (:meth:`market.store.MarketStore.apply`); only after
the commit does the caller get its answer. If the commit fails the in-memory engine is thrown away and
rebuilt from SQL, so memory never runs ahead of the database. At start the engine is rebuilt from SQL the
same way; SQL is the truth, memory is its index. The engine holds only the open book (open orders, fills
pending settlement, today's trades); finished orders and older trades are an archive in SQL that the
reads (orders, trades, candles) and the duplicate and cancel checks go to.

Identity. An order's trader is the EVM address that signed it, and its beneficial owner (self-match
prevention, daily limits) is that same address: the contract refuses a fill between one trader's own
orders, so the engine must never produce one.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy.orm import Session
from web3 import Web3

from common.errors import MSCError
from market.acceptance import Commitments, OrderAcceptance
from market.book import StpPolicy
from market.engine import MatchingEngine
from market.errors import DuplicateOrderError, OrderNotOpenError, UnknownOrderError
from market.marketdata import Candle
from market.models import BatchStatus, MarketFill, MarketOrder, MarketTrade
from market.orders import CancelReason, Fill, OrderStatus, Side
from market.safeguards import SafeguardConfig
from market.signed import SignedOrder
from market.store import MarketStore, SettledFill

T = TypeVar("T")


def wall_clock_ms() -> int:
    """The current time in integer milliseconds since the epoch."""
    return time.time_ns() // 1_000_000


@dataclass(frozen=True, slots=True)
class Submitted:
    """The answer to a submitted order: its state after matching, its fills, and whether it was a replay."""

    order: MarketOrder
    fills: list[Fill]
    replayed: bool


class MarketService:
    """See the module docstring."""

    def __init__(
        self,
        store: MarketStore,
        acceptance: OrderAcceptance | None,
        *,
        clock_ms: Callable[[], int] = wall_clock_ms,
        config: SafeguardConfig | None = None,
        stp: StpPolicy = StpPolicy.CANCEL_RESTING,
    ) -> None:
        self.store = store
        self.acceptance = acceptance
        self._clock = clock_ms
        self._config = config or SafeguardConfig()
        self._stp = stp
        self._lock = threading.RLock()
        self._events: list[dict[str, Any]] = []
        self.engine = self._load()

    def _load(self) -> MatchingEngine:
        """A new engine from the database (at start, and after a failed commit)."""
        snapshot = self.store.snapshot(self._config, self._stp, self._clock())
        return MatchingEngine.restore(snapshot, self._clock, on_event=self._events.append)

    def reload(self) -> None:
        """Rebuilds the in-memory book from SQL (what a restarted process does)."""
        with self._lock:
            self.engine = self._load()

    def _run(
        self,
        op: Callable[[], T],
        *,
        signed: Mapping[str, SignedOrder] | None = None,
        extra: Callable[[Session], None] | None = None,
        atomic: bool = True,
    ) -> T:
        """Runs ``op`` on the engine and commits its events (and ``extra``) in one transaction.

        ``atomic`` says ``op`` leaves the engine unchanged when it raises an MSCError (true of every
        single engine call); for a multi-step ``op`` any failure reloads the engine from SQL.
        """
        with self._lock:
            self._events.clear()
            try:
                result = op()
            except MSCError:
                if not atomic:
                    self.engine = self._load()
                elif self._events:  # a refused order can still halt the market: keep the halt
                    self._commit(signed, None)
                self._events.clear()
                raise
            except Exception:
                self.engine = self._load()
                raise
            self._commit(signed, extra)
            return result

    def _commit(
        self, signed: Mapping[str, SignedOrder] | None, extra: Callable[[Session], None] | None
    ) -> None:
        try:
            with self.store.transaction() as session:
                self.store.apply(session, self._events, signed)
                if extra is not None:
                    extra(session)
        except Exception:
            self.engine = self._load()
            raise
        finally:
            self._events.clear()

    # -- trading -----------------------------------------------------------------------------------

    def submit(self, signed: SignedOrder) -> Submitted:
        """Checks, matches and stores a signed order; answers after the commit.

        Submitting an order that was already accepted (same terms and signature: same order id) answers
        its current state with ``replayed=True`` and changes nothing.

        Raises:
            MSCError: an acceptance check or a market safeguard refused it; nothing was stored.
        """
        order_id = signed.order_hash
        existing = self.store.order(order_id)
        if existing is not None:
            if existing.signature == signed.signature:
                return Submitted(existing, [], replayed=True)
            # The engine knows only the orders it loaded; an archived id is refused here, from SQL.
            raise DuplicateOrderError(f"order {order_id} was already submitted", order_id=order_id)
        if self.acceptance is not None:
            self.acceptance.check_terms(signed)
        trader = Web3.to_checksum_address(signed.trader)
        signed = _with_trader(signed, trader)
        # The chain checks run under the lock: two orders of one trader must not both count the same
        # MSC or credits as free (commitments include everything accepted before this order).
        with self._lock:
            # Checked again under the lock: an identical submission may have been stored since the
            # check above (concurrent retries); it is a replay, not a duplicate_order.
            existing = self.store.order(order_id)
            if existing is not None and existing.signature == signed.signature:
                return Submitted(existing, [], replayed=True)
            if self.acceptance is not None:
                self.acceptance.check_chain(signed, self.commitments(trader, signed.token_id))
            order = signed.to_order(beneficial_owner=trader)
            fills = self._run(lambda: self.engine.submit(order), signed={order_id: signed})
        row = self.store.order(order_id)
        assert row is not None  # committed just above
        return Submitted(row, fills, replayed=False)

    def cancel(self, order_id: str, trader: str | None = None) -> MarketOrder:
        """Cancels the rest of an open order; with ``trader``, only that trader's order (else 404)."""
        row = self.store.order(order_id)
        if row is None or (trader is not None and row.trader != Web3.to_checksum_address(trader)):
            raise UnknownOrderError(f"order {order_id} is unknown", order_id=order_id)
        if row.status != str(OrderStatus.OPEN):  # archived: the engine did not load it
            raise OrderNotOpenError(f"order {order_id} is {row.status}, not open", order_id=order_id)
        self._run(lambda: self.engine.cancel(order_id))
        cancelled = self.store.order(order_id)
        assert cancelled is not None
        return cancelled

    def expire(self) -> int:
        """Removes expired resting orders; returns how many."""
        return len(self._run(self.engine.expire_orders))

    def set_reference_price(self, token_id: int, price: int, as_of_ms: int | None = None) -> None:
        """Records a token's reference price (sen per tonne) for the price band."""
        self._run(lambda: self.engine.set_reference_price(token_id, price, as_of_ms))

    def resume(self, token_id: int) -> None:
        """Lifts a halt of ``token_id``."""
        self._run(lambda: self.engine.resume(token_id))

    def commitments(self, trader: str, token_id: int) -> Commitments:
        """What ``trader`` owes for its resting orders and pending fills (MSC sen; tonnes of
        ``token_id``), and its open tonnes: ``remaining`` of every resting order (every token, both
        sides) plus every pending fill it is buyer or seller of, which the contract's daily size
        limit will count when they settle (so split orders cannot pass acceptance one by one)."""
        with self._lock:
            msc = tonnes = open_tonnes = 0
            for order in self.engine.open_orders():
                if order.beneficial_owner != trader:
                    continue
                open_tonnes += order.remaining
                if order.side is Side.BUY:
                    msc += order.remaining * order.price
                elif order.token_id == token_id:
                    tonnes += order.remaining
            for fill in self.engine.pending_fills():
                taker_buys = fill.taker_side is Side.BUY
                buyer = fill.taker_account if taker_buys else fill.maker_account
                seller = fill.maker_account if taker_buys else fill.taker_account
                if trader in (buyer, seller):
                    open_tonnes += fill.amount
                if buyer == trader:
                    msc += fill.value
                if seller == trader and fill.token_id == token_id:
                    tonnes += fill.amount
            return Commitments(msc=msc, tonnes=tonnes, open_tonnes=open_tonnes)

    # -- settlement feedback -------------------------------------------------------------------------

    def confirm_batch(
        self, batch_id: int, fills: list[Fill], settled: list[SettledFill], tx_hash: str, block: int
    ) -> None:
        """Marks a batch's fills settled, with their trades, in one transaction with the batch's status."""
        by_sequence = {f.sequence: f for f in fills}

        def extra(session: Session) -> None:
            self.store.record_trades(session, by_sequence, settled, tx_hash, block)
            self.store.resolve_batch(session, batch_id, BatchStatus.SETTLED, block_number=block)

        def op() -> None:
            for fill in fills:
                self.engine.confirm_fill(fill)

        self._run(op, extra=extra, atomic=False)

    def rollback(self, fill: Fill, error: str, offender: str | None) -> None:
        """Undoes a fill that cannot settle; the order that made it fail (if known) is cancelled too."""

        def op() -> None:
            self.engine.rollback_fill(fill)
            if offender is not None:
                try:
                    order = self.engine.order(offender)
                except UnknownOrderError:
                    return
                if order.status is OrderStatus.OPEN:
                    self.engine.cancel(offender, CancelReason.SETTLEMENT_FAILED)

        self._run(op, extra=lambda s: self.store.mark_failed(s, fill.sequence, error, offender), atomic=False)

    # -- reads -------------------------------------------------------------------------------------

    def depth(self, token_id: int, levels: int) -> dict[str, list[tuple[int, int, int]]]:
        """Aggregated book of ``token_id``: (price, tonnes, orders) per level, best first."""
        with self._lock:
            book = self.engine.books().get(token_id)
            return {"bids": [], "asks": []} if book is None else book.depth(levels)

    def candles(self, token_id: int, interval_ms: int, since_ms: int | None) -> list[Candle]:
        """OHLCV candles of the trades (fills not rolled back) of ``token_id``, from SQL: the engine
        holds only today's trades, the archive holds them all."""
        return self.store.candles(token_id, interval_ms, since_ms)

    def trades(
        self, token_id: int, since_ms: int | None, limit: int
    ) -> list[tuple[MarketFill, MarketTrade | None]]:
        """Trades of ``token_id`` from SQL, newest first, with their on-chain settlement if settled."""
        return self.store.trades(token_id, since_ms, limit)

    def orders_of(self, trader: str, status: str | None, limit: int) -> list[MarketOrder]:
        """A trader's orders, newest first."""
        return self.store.orders_of(Web3.to_checksum_address(trader), status, limit)

    def open_order_ids(self) -> Iterable[str]:
        """Ids of resting orders in priority order (for tests and diagnostics)."""
        with self._lock:
            return [o.order_id for o in self.engine.open_orders()]


def _with_trader(signed: SignedOrder, trader: str) -> SignedOrder:
    """The same terms with the trader address in EIP-55 form (how it is stored and compared)."""
    if signed.trader == trader:
        return signed
    return SignedOrder(
        trader,
        signed.side,
        signed.token_id,
        signed.amount,
        signed.price,
        signed.expiry,
        signed.salt,
        signed.nonce,
        signed.signature,
    )
