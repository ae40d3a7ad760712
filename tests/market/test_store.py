"""The book survives a restart: every engine change is committed to SQL before it is acknowledged, and a
service rebuilt from the same database has the identical book (same orders, same price-time priority,
same pending fills, counters and safeguard state). Runs on SQLite and PostgreSQL; no chain is needed
(acceptance checks against the chain are tested in tests/api/test_market.py)."""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from common.errors import MSCError
from common.sql.engine import create_engine_from_url, make_sessionmaker
from common.sql.migrate import upgrade
from market.errors import DuplicateOrderError, PriceBandError
from market.models import FillStatus, MarketFill, MarketOrder
from market.orders import Side
from market.service import MarketService
from market.signed import SignedOrder
from market.store import MarketStore, SettledFill
from tests.market.conftest import REF, Clock

TOKEN_A, TOKEN_B = 65_537, 65_538
SIG = "0x" + "11" * 65
salts = itertools.count(1)


@pytest.fixture(scope="module", params=("sqlite", "postgresql"))
def database_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> str:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('market') / 'market.sqlite3'}"
    else:
        url = request.getfixturevalue("pg_schema_factory")()
    upgrade(url)
    return url


@pytest.fixture
def store(database_url: str) -> Iterator[MarketStore]:
    engine = create_engine_from_url(database_url)
    with engine.begin() as conn:  # each test starts from an empty market
        for table in (
            "market_book_trades",
            "market_book_fills",
            "market_settlement_batches",
            "market_book_orders",
        ):
            conn.exec_driver_sql(f"DELETE FROM {table}")
        conn.exec_driver_sql("DELETE FROM market_book_tokens")
    yield MarketStore(make_sessionmaker(engine))
    engine.dispose()


def signed(trader: str, side: Side, amount: int, price: int, token: int = TOKEN_A) -> SignedOrder:
    """Terms with a placeholder signature (the service is built without chain acceptance here)."""
    return SignedOrder(trader, side, token, amount, price, 2_000_000_000, next(salts), 0, SIG)


TRADERS = [f"0x{i:040x}" for i in range(1, 6)]


def _service(store: MarketStore, clock: Clock) -> MarketService:
    return MarketService(store, None, clock_ms=clock)


def _normalised(snapshot: dict[str, Any]) -> dict[str, Any]:
    """A snapshot without representation-only differences (empty books, reference list order)."""
    snap = dict(snapshot)
    snap["books"] = [b for b in snapshot["books"] if b[1] or b[2]]
    guards = dict(snapshot["safeguards"])
    guards["references"] = sorted(guards["references"])
    snap["safeguards"] = guards
    return snap


def _drive(service: MarketService, clock: Clock) -> None:
    """Orders on two tokens: resting levels, partial fills, a cancel, confirmed and rolled-back fills."""
    a, b, c, d, e = [t.lower() for t in TRADERS]
    for token in (TOKEN_A, TOKEN_B):
        service.set_reference_price(token, REF)
    for trader, side, amount, price in [
        (a, Side.SELL, 30, 10_100),
        (b, Side.SELL, 20, 10_100),
        (c, Side.SELL, 25, 10_200),
        (d, Side.BUY, 40, 9_900),
        (e, Side.BUY, 10, 9_900),
        (a, Side.BUY, 15, 9_800),
    ]:
        clock.advance(1_000)
        service.submit(signed(trader, side, amount, price))
    clock.advance(1_000)
    taken = service.submit(signed(d, Side.BUY, 35, 10_100))  # 30 from a, 5 from b (b keeps 15)
    assert [(f.amount, f.price) for f in taken.fills] == [(30, 10_100), (5, 10_100)]
    clock.advance(1_000)
    hit = service.submit(signed(c, Side.SELL, 45, 9_900))  # 40 from d's bid, 5 from e's
    assert [f.amount for f in hit.fills] == [40, 5]
    service.submit(signed(b, Side.BUY, 5, 9_700, TOKEN_B))
    cancelled = service.submit(signed(e, Side.SELL, 7, 10_400))
    service.cancel(cancelled.order.order_id, cancelled.order.trader)
    # Settlement feedback: the first fill settled, the 40 t fill failed and is rolled back.
    first = taken.fills[0]
    tx_hash = "0x" + "ab" * 32
    batch = service.store.record_batch(TRADERS[0], 0, tx_hash, "0x00", [first])
    service.confirm_batch(batch, [first], [SettledFill(first.sequence, d, a, 757)], tx_hash, 7)
    service.rollback(hit.fills[0], "ERC1155InsufficientBalance", None)


def test_a_new_service_from_the_same_database_has_the_identical_book(store: MarketStore) -> None:
    clock = Clock()
    before = _service(store, clock)
    _drive(before, clock)
    snapshot = before.engine.snapshot()
    assert snapshot["pending"], "some fills are still pending settlement"
    assert any(book[1] and book[2] for book in snapshot["books"]), "both sides rest somewhere"

    after = _service(store, clock)  # the process restarted: only the database is left

    restored = after.engine.snapshot()
    # The restart loads only the live orders: "seen" is theirs (the service refuses archived ids
    # from SQL); everything else is the identical state (all fills here are today's).
    assert restored["seen"] == sorted(o["order_id"] for o in restored["orders"])
    assert _normalised({**restored, "seen": []}) == _normalised({**snapshot, "seen": []})
    assert list(after.open_order_ids()) == list(before.open_order_ids())
    assert after.depth(TOKEN_A, 10) == before.depth(TOKEN_A, 10)
    assert after.candles(TOKEN_A, 60_000, None) == before.engine.market_data.candles(TOKEN_A, 60_000, None)
    with store.sessions() as session:
        accepted = session.scalar(select(func.count()).select_from(MarketOrder))
    assert accepted == len(snapshot["seen"]) == 10


def test_price_time_priority_survives_the_restart(store: MarketStore) -> None:
    clock = Clock()
    before = _service(store, clock)
    before.set_reference_price(TOKEN_A, REF)
    makers = []
    for trader, price in [
        (TRADERS[0], 10_050),
        (TRADERS[1], 10_000),
        (TRADERS[2], 10_000),
        (TRADERS[3], 10_050),
    ]:
        clock.advance(10)
        makers.append(before.submit(signed(trader, Side.SELL, 10, price)).order.order_id)
    clock.advance(10)
    before.submit(signed(TRADERS[4], Side.BUY, 4, 10_000))  # partially fills the oldest at 10_000

    after = _service(store, clock)
    clock.advance(10)
    sweep = after.submit(signed(TRADERS[4], Side.BUY, 36, 10_050))

    assert [(f.maker_order_id, f.amount) for f in sweep.fills] == [
        (makers[1], 6),
        (makers[2], 10),
        (makers[0], 10),
        (makers[3], 10),
    ]


def test_an_order_is_acknowledged_only_after_its_commit(
    store: MarketStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = Clock()
    service = _service(store, clock)
    service.set_reference_price(TOKEN_A, REF)
    resting = service.submit(signed(TRADERS[0], Side.SELL, 10, 10_000)).order.order_id
    order = signed(TRADERS[1], Side.BUY, 10, 10_000)

    def broken_apply(*args: Any, **kwargs: Any) -> None:
        raise MSCError("database went away")

    with monkeypatch.context() as patch:
        patch.setattr(store, "apply", broken_apply)
        with pytest.raises(MSCError, match="database went away"):
            service.submit(order)

    # Nothing was acknowledged and nothing is left of it, in SQL or in memory: the maker still rests whole.
    assert store.order(order.order_hash) is None
    assert list(service.open_order_ids()) == [resting]
    assert service.depth(TOKEN_A, 5)["asks"] == [(10_000, 10, 1)]
    assert service.engine.pending_fills() == []
    # The same order can then be submitted and matches normally.
    retried = service.submit(order)
    assert [f.amount for f in retried.fills] == [10]
    with store.sessions() as session:
        statuses = session.scalars(select(MarketFill.status)).all()
    assert statuses == [str(FillStatus.PENDING)]


def test_a_refused_order_stores_nothing_and_a_resubmission_is_a_replay(store: MarketStore) -> None:
    clock = Clock()
    service = _service(store, clock)
    service.set_reference_price(TOKEN_A, REF)
    with pytest.raises(PriceBandError):
        service.submit(signed(TRADERS[0], Side.SELL, 10, REF * 2))
    with store.sessions() as session:
        assert session.scalar(select(func.count()).select_from(MarketOrder)) == 0

    order = signed(TRADERS[0], Side.SELL, 10, 10_000)
    first = service.submit(order)
    again = service.submit(order)
    assert not first.replayed and again.replayed
    assert again.order.order_id == first.order.order_id
    other_signature = dataclasses.replace(order, signature="0x" + "22" * 65)
    with pytest.raises(DuplicateOrderError):
        service.submit(other_signature)
    with store.sessions() as session:
        assert session.scalar(select(func.count()).select_from(MarketOrder)) == 1


def test_store_reads_need_no_engine(store: MarketStore, tmp_path: Path) -> None:
    clock = Clock()
    service = _service(store, clock)
    service.set_reference_price(TOKEN_A, REF)
    maker = service.submit(signed(TRADERS[0], Side.SELL, 10, 10_000))
    service.submit(signed(TRADERS[1], Side.BUY, 4, 10_000))
    mine = service.orders_of(TRADERS[0], None, 10)
    assert [o.order_id for o in mine] == [maker.order.order_id]
    assert (mine[0].remaining, mine[0].filled, mine[0].status) == (6, 4, "open")
    trades = service.trades(TOKEN_A, None, 10)
    assert [(f.amount, f.price, t) for f, t in trades] == [(4, 10_000, None)]
