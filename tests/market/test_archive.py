"""A restart loads the open book, not the platform's history: with N open orders and 10 x N filled or
cancelled ones (fills settled on earlier days), the rebuilt service reads only the N open orders and
no old fill, has the identical book in the same price-time priority, and the archive stays reachable
(a trader's orders, trades, candles, duplicate and cancel checks). SQLite and PostgreSQL."""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import event

from common.sql.engine import create_engine_from_url, make_sessionmaker
from common.sql.migrate import upgrade
from market.errors import DuplicateOrderError, OrderNotOpenError
from market.models import MarketFill, MarketOrder
from market.orders import DAY_MS, Side
from market.service import MarketService
from market.signed import SignedOrder
from market.store import MarketStore, SettledFill
from tests.market.conftest import REF, Clock

TOKEN = 65_539
SIG = "0x" + "33" * 65
N = 10
TRADERS = [f"0x{i:040x}" for i in range(0x10, 0x18)]
salts = itertools.count(10_000)


@pytest.fixture(params=("sqlite", "postgresql"))
def store(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[MarketStore]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('archive') / 'market.sqlite3'}"
    else:
        url = request.getfixturevalue("pg_schema_factory")()
    upgrade(url)
    engine = create_engine_from_url(url)
    yield MarketStore(make_sessionmaker(engine))
    engine.dispose()


def signed(trader: str, side: Side, amount: int, price: int) -> SignedOrder:
    return SignedOrder(trader, side, TOKEN, amount, price, 4_000_000_000, next(salts), 0, SIG)


class RowsRead:
    """Counts the order and fill rows the ORM loads while active."""

    def __init__(self) -> None:
        self.orders = self.fills = 0
        self.active = False

    def __enter__(self) -> RowsRead:
        self.active = True
        return self

    def __exit__(self, *exc: Any) -> None:
        self.active = False

    def on_order(self, target: Any, context: Any) -> None:
        if self.active:
            self.orders += 1

    def on_fill(self, target: Any, context: Any) -> None:
        if self.active:
            self.fills += 1


@pytest.fixture
def rows_read() -> Iterator[RowsRead]:
    counter = RowsRead()
    event.listen(MarketOrder, "load", counter.on_order)
    event.listen(MarketFill, "load", counter.on_fill)
    yield counter
    event.remove(MarketOrder, "load", counter.on_order)
    event.remove(MarketFill, "load", counter.on_fill)


def _history(service: MarketService, clock: Clock) -> tuple[list[str], str]:
    """10 x N finished orders over earlier days: matched pairs whose fills settled, and cancels.
    Returns the archived order ids and one cancelled order's id."""
    archived: list[str] = []
    cancelled_id = ""
    sequence = itertools.count()
    for day in range(5):
        clock.now = clock.now - clock.now % DAY_MS + DAY_MS + 3_600_000  # the next day, 01:00
        service.set_reference_price(TOKEN, REF)
        for _ in range(2 * N // 5):
            seller, buyer = TRADERS[next(sequence) % 4], TRADERS[4 + next(sequence) % 4]
            clock.advance(1_000)
            maker = service.submit(signed(seller, Side.SELL, 2, REF))
            taker = service.submit(signed(buyer, Side.BUY, 2, REF))
            fill = taker.fills[0]
            tx = f"0x{len(archived):064x}"
            batch = service.store.record_batch(TRADERS[0], len(archived), tx, "0x00", [fill])
            service.confirm_batch(batch, [fill], [SettledFill(fill.sequence, buyer, seller, 0)], tx, day)
            archived += [maker.order.order_id, taker.order.order_id]
        for _ in range(10 * N // 5 - 4 * N // 5):
            clock.advance(1_000)
            order = service.submit(signed(TRADERS[next(sequence) % 8], Side.BUY, 3, REF - 500))
            service.cancel(order.order.order_id)
            archived.append(order.order.order_id)
            cancelled_id = order.order.order_id
    return archived, cancelled_id


def test_a_restart_reads_only_the_open_book_and_rebuilds_it_identically(
    store: MarketStore, rows_read: RowsRead
) -> None:
    clock = Clock()
    before = MarketService(store, None, clock_ms=clock)
    archived, cancelled_id = _history(before, clock)
    assert len(archived) == 10 * N
    clock.now = clock.now - clock.now % DAY_MS + DAY_MS + 3_600_000  # today
    before.set_reference_price(TOKEN, REF)
    for i in range(N):  # N open orders on both sides, several per level (time priority matters)
        clock.advance(10)
        side = Side.SELL if i % 2 else Side.BUY
        price = REF + 100 * (1 + i % 3) if side is Side.SELL else REF - 100 * (1 + i % 3)
        before.submit(signed(TRADERS[i % 8], side, 5, price))
    candles_before = before.candles(TOKEN, DAY_MS, None)

    with rows_read:
        after = MarketService(store, None, clock_ms=clock)

    assert rows_read.orders == N  # the open ones; none of the 10 x N archived
    assert rows_read.fills == 0  # today has no fill; settled fills of earlier days are not read
    assert list(after.open_order_ids()) == list(before.open_order_ids())
    assert after.depth(TOKEN, 10) == before.depth(TOKEN, 10)
    restored, original = after.engine.snapshot(), before.engine.snapshot()
    for key in ("orders", "books", "pending", "next_sequence", "next_fill"):
        assert restored[key] == original[key], key
    assert len(restored["seen"]) == N and restored["trades"] == []  # memory: the open book only
    # The archive is still reached: orders, trades, candles; archived ids stay refused.
    assert after.candles(TOKEN, DAY_MS, None) == candles_before and len(candles_before) == 5
    assert len(after.trades(TOKEN, None, 1_000)) == 2 * N
    assert {o.status for o in after.orders_of(TRADERS[0], None, 1_000)} >= {"filled", "open"}
    with pytest.raises(OrderNotOpenError):
        after.cancel(cancelled_id)
    archived_terms = store.terms_of([archived[0]])[archived[0]]
    resubmitted = after.submit(archived_terms)
    assert resubmitted.replayed and resubmitted.order.status == "filled"
    with pytest.raises(DuplicateOrderError):
        after.submit(dataclasses.replace(archived_terms, signature="0x" + "44" * 65))
    # The next order sweeps the asks in the priority the book had before the restart.
    asks = [o.order_id for o in before.engine.open_orders() if o.side is Side.SELL]
    clock.advance(10)
    sweep = after.submit(signed("0x" + "99" * 20, Side.BUY, 5 * len(asks), REF + 300))
    assert [(f.maker_order_id, f.amount) for f in sweep.fills] == [(a, 5) for a in asks]
