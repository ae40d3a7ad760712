"""Property tests: random operation sequences against an independent model of price-time matching.

The state machine submits, cancels, confirms and rolls back fills, moves the clock and restores the
engine from its snapshot, and after every step checks that the book is never crossed, that every order
has ``filled + remaining + cancelled == amount``, that the book holds exactly the live orders with
correct level aggregates, and that open volume per account matches. Each submit is compared with the
fills a simple model predicts (sort the live opposite orders by best price, then sequence), so every
fill is against the best price and, within it, the earliest order; no fill is ever a self-match.
"""

from __future__ import annotations

import json
import random
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from market.book import StpPolicy
from market.engine import MatchingEngine
from market.orders import Fill, Order, OrderStatus, Side
from market.safeguards import SafeguardConfig

T0 = 1_717_200_000_000
REF = 10_000
ACCOUNTS = ("a", "b", "c")
CONFIG = SafeguardConfig(account_daily_limit=None, market_daily_limit=None, halt_move_bps=10_000)
prices = st.integers(REF - 4, REF + 4)
amounts = st.integers(1, 6)


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> int:
        return self.now


def expected_fills(
    live: list[Order], taker: Order, stp: StpPolicy
) -> tuple[list[tuple[str, int, int]], set[str]]:
    """Model: (maker id, tonnes, price) the taker should trade, and the makers STP should cancel."""
    if taker.side is Side.BUY:
        book = sorted(
            (o for o in live if o.side is Side.SELL and o.price <= taker.price),
            key=lambda o: (o.price, o.sequence),
        )
    else:
        book = sorted(
            (o for o in live if o.side is Side.BUY and o.price >= taker.price),
            key=lambda o: (-o.price, o.sequence),
        )
    want, fills, cancels = taker.amount, [], set()
    for maker in book:
        if not want:
            break
        if maker.beneficial_owner == taker.beneficial_owner:
            if stp is not StpPolicy.CANCEL_TAKER:
                cancels.add(maker.order_id)
            if stp is StpPolicy.CANCEL_RESTING:
                continue
            break
        quantity = min(want, maker.remaining)
        fills.append((maker.order_id, quantity, maker.price))
        want -= quantity
    return fills, cancels


class EngineMachine(RuleBasedStateMachine):
    """Random operations on one engine (two tokens) with a fixed self-match policy."""

    stp = StpPolicy.CANCEL_RESTING

    def __init__(self) -> None:
        super().__init__()
        self.clock = Clock()
        self.engine = MatchingEngine(self.clock, CONFIG, self.stp)
        for token in (1, 2):
            self.engine.set_reference_price(token, REF)
        self.orders: dict[str, Order] = {}
        self.amounts: dict[str, int] = {}
        self.fills: list[Fill] = []
        self.count = 0

    def live(self, token: int) -> list[Order]:
        return [o for o in self.orders.values() if o.token_id == token and o.remaining > 0]

    @rule(
        side=st.sampled_from(Side),
        amount=amounts,
        price=prices,
        account=st.sampled_from(ACCOUNTS),
        token=st.sampled_from((1, 2)),
    )
    def submit(self, side: Side, amount: int, price: int, account: str, token: int) -> None:
        self.count += 1
        order = Order(f"o{self.count}", f"0x{account}", account, side, token, amount, price)
        expected, cancels = expected_fills(self.live(token), order, self.stp)
        fills = self.engine.submit(order)
        assert [(f.maker_order_id, f.amount, f.price) for f in fills] == expected
        for f in fills:
            assert f.maker_account != f.taker_account
        for order_id in cancels:
            assert self.orders[order_id].status is OrderStatus.CANCELLED
        self.orders[order.order_id] = order
        self.amounts[order.order_id] = amount
        self.fills.extend(fills)

    @precondition(lambda self: self.orders)
    @rule(data=st.data())
    def cancel(self, data: Any) -> None:
        order = data.draw(st.sampled_from(sorted(self.orders.values(), key=lambda o: o.sequence)))
        if order.status is OrderStatus.OPEN:
            self.engine.cancel(order.order_id)
            assert order.remaining == 0 and order.status is OrderStatus.CANCELLED

    @precondition(lambda self: self.engine.pending_fills())
    @rule(data=st.data(), rollback=st.booleans())
    def settle(self, data: Any, rollback: bool) -> None:
        fill = data.draw(st.sampled_from(self.engine.pending_fills()))
        if rollback:
            self.engine.rollback_fill(fill)
        else:
            self.engine.confirm_fill(fill)

    @rule()
    def restart(self) -> None:
        snapshot = json.loads(json.dumps(self.engine.snapshot()))
        engine = MatchingEngine.restore(snapshot, self.clock)
        assert engine.snapshot() == self.engine.snapshot()
        self.engine = engine
        for order_id in list(self.orders):
            try:
                self.orders[order_id] = engine.order(order_id)  # retained orders are new objects now
            except Exception:
                assert self.orders[order_id].status is not OrderStatus.OPEN

    @invariant()
    def never_crossed(self) -> None:
        for book in self.engine.books().values():
            bid, ask = book.best_bid(), book.best_ask()
            assert bid is None or ask is None or bid < ask

    @invariant()
    def quantities_add_up(self) -> None:
        for order_id, order in self.orders.items():
            assert order.filled + order.remaining + order.cancelled == self.amounts[order_id]
            assert min(order.filled, order.remaining, order.cancelled) >= 0
            assert (order.remaining > 0) == (order.status is OrderStatus.OPEN)

    @invariant()
    def book_holds_exactly_the_live_orders(self) -> None:
        in_book: list[str] = []
        for book in self.engine.books().values():
            for side in (book.bids, book.asks):
                assert side.keys == sorted(side.levels)
                for key, level in side.levels.items():
                    live = [o for o in level.orders if o.remaining]
                    assert live and level.live == len(live) and level.volume == sum(o.remaining for o in live)
                    assert all(o.price * side.sign == key and o.side is side.side for o in live)
                    sequences = [o.sequence for o in level.orders]
                    assert sequences == sorted(sequences)
                    in_book.extend(o.order_id for o in live)
        assert sorted(in_book) == sorted(i for i, o in self.orders.items() if o.remaining)
        volume: dict[str, int] = {}
        for order in self.orders.values():
            volume[order.beneficial_owner] = volume.get(order.beneficial_owner, 0) + order.remaining
        assert {k: v for k, v in self.engine.safeguards.open_volume.items() if v} == {
            k: v for k, v in volume.items() if v
        }


class CancelTakerMachine(EngineMachine):
    stp = StpPolicy.CANCEL_TAKER


class CancelBothMachine(EngineMachine):
    stp = StpPolicy.CANCEL_BOTH


MACHINE_SETTINGS = settings(max_examples=150, stateful_step_count=40, deadline=None)


def test_engine_machine_cancel_resting() -> None:
    run_state_machine_as_test(EngineMachine, settings=MACHINE_SETTINGS)


def test_engine_machine_cancel_taker() -> None:
    run_state_machine_as_test(CancelTakerMachine, settings=MACHINE_SETTINGS)


def test_engine_machine_cancel_both() -> None:
    run_state_machine_as_test(CancelBothMachine, settings=MACHINE_SETTINGS)


def book_and_orders(engine: MatchingEngine) -> list[Any]:
    """The full book in priority order with each resting order's state."""
    return [
        (o.order_id, o.side, o.price, o.sequence, o.remaining, o.filled, o.cancelled, o.status)
        for o in engine.open_orders()
    ]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    resting=st.lists(
        st.tuples(st.sampled_from(Side), amounts, prices, st.sampled_from(ACCOUNTS)), max_size=25
    ),
    taker=st.tuples(st.sampled_from(Side), st.integers(1, 40), prices),
    seed=st.integers(0, 2**32),
)
def test_rolling_back_every_fill_restores_the_exact_prior_book(
    resting: list[tuple[Side, int, int, str]], taker: tuple[Side, int, int], seed: int
) -> None:
    engine = MatchingEngine(Clock(), CONFIG)
    engine.set_reference_price(1, REF)
    for i, (side, amount, price, account) in enumerate(resting):
        engine.submit(Order(f"r{i}", account, account, side, 1, amount, price))
    for fill in engine.pending_fills():
        engine.confirm_fill(fill)
    prior, prior_last = book_and_orders(engine), engine.market_data.last_price(1)
    side, amount, price = taker
    fills = engine.submit(Order("taker", "t", "t", side, 1, amount, price))
    random.Random(seed).shuffle(fills)
    for fill in fills:
        engine.rollback_fill(fill)
    if fills:
        assert book_and_orders(engine) == prior
        assert engine.market_data.last_price(1) == prior_last
    assert engine.pending_fills() == []
