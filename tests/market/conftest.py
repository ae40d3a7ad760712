"""Fixtures for the market tests: a controllable clock, an engine with a reference price, an order factory."""

from __future__ import annotations

import itertools
from collections.abc import Callable

import pytest

from market.engine import MatchingEngine
from market.orders import Order, Side

T0 = 1_717_200_000_000  # 2024-06-01T00:00:00Z, start of a UTC day
REF = 10_000  # sen per tonne


class Clock:
    """A clock the test moves by hand (integer ms)."""

    def __init__(self, now: int = T0 + 3_600_000) -> None:
        self.now = now

    def __call__(self) -> int:
        return self.now

    def advance(self, ms: int) -> None:
        self.now += ms


OrderFactory = Callable[..., Order]


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def engine(clock: Clock) -> MatchingEngine:
    eng = MatchingEngine(clock)
    eng.set_reference_price(1, REF)
    return eng


@pytest.fixture
def make_order() -> OrderFactory:
    counter = itertools.count(1)

    def factory(
        side: Side,
        amount: int,
        price: int,
        account: str = "alice",
        token: int = 1,
        expiry: int | None = None,
        order_id: str | None = None,
    ) -> Order:
        return Order(
            order_id or f"o{next(counter)}", f"0x{account}", account, side, token, amount, price, expiry
        )

    return factory
