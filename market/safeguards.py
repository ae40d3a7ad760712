"""Pre-trade safeguards: reference price and band, minimum price, lots, daily volume limits, halts.

Every check runs before the book changes (the engine plans the match first), so a rejected order leaves
the engine exactly as it was; the only exception is :class:`~market.errors.PriceMoveHaltError`, which
refuses the order *and* halts that token's market for the rest of the UTC day.

Rules (defaults in :class:`SafeguardConfig`):

* Reference price per token (standing in for the national exchange, IDXCarbon): an order is refused if
  there is none or it is older than ``max_reference_age_ms``.
* Price band: the price must lie in ``[ceil(ref * (1 - band)), floor(ref * (1 + band))]`` (default 20%).
* Minimum price ``min_price`` sen per tonne; the amount must be a positive multiple of ``lot_size`` tonnes.
* Per-account daily volume: for each beneficial owner, tonnes traded today plus tonnes resting in the book
  plus the new order's amount must stay within ``account_daily_limit``. Counting open orders up front
  means a resting order can never later push its account over the limit when it is hit.
* Per-market daily volume: tonnes traded today in a token, including the order's immediate fills, must
  stay within ``market_daily_limit``.
* Halt: if a fill would trade more than ``halt_move_bps`` away from the day's open (the first traded
  price of the UTC day, or the order's first fill price when there has been none), the order is refused
  and the market is halted until the next UTC day or :meth:`Safeguards.resume`.

"Day" is ``now_ms // DAY_MS`` of the injected clock; the daily counters reset when it changes.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from market.book import MatchPlan
from market.errors import (
    AccountDailyLimitError,
    InvalidOrderError,
    LotSizeError,
    MarketDailyLimitError,
    MarketHaltedError,
    MinimumPriceError,
    PriceBandError,
    PriceMoveHaltError,
    ReferencePriceMissingError,
    StaleReferencePriceError,
)
from market.orders import DAY_MS, Order, Side

BPS = 10_000
"""Basis points in one: limits are integer basis points so no float enters the checks."""


def _pairs(mapping: dict[Any, int]) -> list[list[Any]]:
    """A counter dict as sorted ``[key, value]`` pairs without zero entries (canonical snapshot form)."""
    return [[key, value] for key, value in sorted(mapping.items()) if value]


def _pct(bps: int) -> str:
    """Basis points as a percentage string with two decimals, e.g. 2000 -> '20.00%'."""
    return f"{bps // 100}.{bps % 100:02d}%"


@dataclass(frozen=True, slots=True)
class SafeguardConfig:
    """Limits of the market. ``None`` for a daily limit means unlimited."""

    band_bps: int = 2_000
    max_reference_age_ms: int = DAY_MS
    min_price: int = 100
    lot_size: int = 1
    account_daily_limit: int | None = 100_000
    market_daily_limit: int | None = 1_000_000
    halt_move_bps: int = 5_000

    def to_dict(self) -> dict[str, Any]:
        """The config as plain data."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SafeguardConfig:
        """Rebuild from :meth:`to_dict` output."""
        return cls(**data)


@dataclass(frozen=True, slots=True)
class ReferencePrice:
    """The reference price of a token (sen per tonne) as of a time, with its precomputed band bounds."""

    price: int
    as_of: int
    low: int
    high: int


@dataclass(slots=True)
class Safeguards:
    """The safeguard rules plus the state they need (references, day counters, halts, open volume)."""

    config: SafeguardConfig = field(default_factory=SafeguardConfig)
    references: dict[int, ReferencePrice] = field(default_factory=dict)
    day: int = -1
    account_traded: dict[str, int] = field(default_factory=dict)
    """Tonnes traded today per beneficial owner (both sides count)."""
    market_traded: dict[int, int] = field(default_factory=dict)
    """Tonnes traded today per token."""
    day_open: dict[int, int] = field(default_factory=dict)
    """First traded price today per token."""
    halted: dict[int, int] = field(default_factory=dict)
    """Token -> the day it was halted; a halt ends when the day changes or on :meth:`resume`."""
    open_volume: dict[str, int] = field(default_factory=dict)
    """Tonnes resting in the books per beneficial owner (any day)."""

    def roll(self, now: int) -> int:
        """Advance to the UTC day of ``now``, resetting the daily counters on a new day; returns the day."""
        day = now // DAY_MS
        if day != self.day:
            self.day = day
            self.account_traded.clear()
            self.market_traded.clear()
            self.day_open.clear()
            self.halted = {token: d for token, d in self.halted.items() if d == day}
        return day

    def set_reference(self, token_id: int, price: int, as_of: int) -> ReferencePrice:
        """Record the reference price of ``token_id`` (sen per tonne) published at ``as_of`` (ms)."""
        if type(price) is not int or price <= 0 or type(as_of) is not int:
            raise InvalidOrderError(
                f"reference price must be a positive integer of sen per tonne with an integer time, "
                f"got {price!r} at {as_of!r}",
                price=repr(price),
            )
        band = self.config.band_bps
        low = -((-price * (BPS - band)) // BPS)
        high = price * (BPS + band) // BPS
        ref = ReferencePrice(price, as_of, low, high)
        self.references[token_id] = ref
        return ref

    def is_halted(self, token_id: int) -> bool:
        """Whether new orders for ``token_id`` are refused today."""
        return self.halted.get(token_id) == self.day

    def resume(self, token_id: int) -> None:
        """Lift a halt before the day ends (an operator decision)."""
        self.halted.pop(token_id, None)

    def check_order(self, order: Order, now: int) -> None:
        """Refuse an order that breaks a rule knowable before matching; raises the matching error."""
        amount, price, config = order.amount, order.price, self.config
        if type(amount) is not int or type(price) is not int or type(order.token_id) is not int:
            raise InvalidOrderError(
                f"order {order.order_id}: token_id, amount and price must be integers, got "
                f"{order.token_id!r}, {amount!r}, {price!r}",
            )
        if not isinstance(order.side, Side):
            raise InvalidOrderError(f"order {order.order_id}: side must be a Side, got {order.side!r}")
        if not order.order_id or not order.owner or not order.beneficial_owner:
            raise InvalidOrderError("order id, owner and beneficial owner must be non-empty")
        if amount <= 0:
            raise InvalidOrderError(f"order {order.order_id}: amount must be positive, got {amount} t")
        if amount % config.lot_size:
            raise LotSizeError(
                f"order {order.order_id}: amount {amount} t is not a multiple of the lot size "
                f"{config.lot_size} t",
                amount=amount,
                lot_size=config.lot_size,
            )
        if price < config.min_price:
            raise MinimumPriceError(
                f"order {order.order_id}: price {price} sen/t is below the minimum price "
                f"{config.min_price} sen/t",
                price=price,
                min_price=config.min_price,
            )
        expiry = order.expiry
        if expiry is not None and (type(expiry) is not int or expiry <= now):
            raise InvalidOrderError(
                f"order {order.order_id}: expiry {expiry!r} ms is not an integer time after now ({now} ms)",
                expiry=repr(expiry),
                now=now,
            )
        token = order.token_id
        if self.halted.get(token) == self.day:
            raise MarketHaltedError(
                f"market for token {token} is halted for the rest of the UTC day; order {order.order_id} "
                f"refused",
                token_id=token,
            )
        ref = self.references.get(token)
        if ref is None:
            raise ReferencePriceMissingError(
                f"no reference price for token {token}; order {order.order_id} refused", token_id=token
            )
        age = now - ref.as_of
        if age > config.max_reference_age_ms:
            raise StaleReferencePriceError(
                f"reference price for token {token} is {age} ms old, older than the maximum age "
                f"{config.max_reference_age_ms} ms",
                token_id=token,
                age_ms=age,
                max_age_ms=config.max_reference_age_ms,
            )
        if price < ref.low or price > ref.high:
            raise PriceBandError(
                f"order {order.order_id}: price {price} sen/t is outside the band {ref.low}..{ref.high} "
                f"sen/t ({_pct(config.band_bps)} around the reference {ref.price} sen/t)",
                price=price,
                reference=ref.price,
                low=ref.low,
                high=ref.high,
                band_bps=config.band_bps,
            )
        limit = config.account_daily_limit
        if limit is not None:
            account = order.beneficial_owner
            traded = self.account_traded.get(account, 0)
            resting = self.open_volume.get(account, 0)
            if traded + resting + amount > limit:
                raise AccountDailyLimitError(
                    f"account {account}: {traded} t traded today + {resting} t open + {amount} t ordered "
                    f"exceeds the daily limit of {limit} t",
                    account=account,
                    traded=traded,
                    open=resting,
                    amount=amount,
                    limit=limit,
                )

    def check_fills(self, token_id: int, plan: MatchPlan) -> None:
        """Refuse an order whose planned fills break the market's daily limit or move the price too far.

        Fills walk away from the best price monotonically, so the first and last fill bound all of them.
        A price move beyond the limit halts the market (for the rest of the day) before raising.
        """
        config = self.config
        limit = config.market_daily_limit
        if limit is not None:
            traded = self.market_traded.get(token_id, 0)
            if traded + plan.filled > limit:
                raise MarketDailyLimitError(
                    f"token {token_id}: {traded} t traded today + {plan.filled} t would exceed the market's "
                    f"daily limit of {limit} t",
                    token_id=token_id,
                    traded=traded,
                    amount=plan.filled,
                    limit=limit,
                )
        trades = plan.trades
        first = trades[0][0].price
        last = trades[-1][0].price
        day_open = self.day_open.get(token_id, first)
        allowed = config.halt_move_bps * day_open
        for price in (first, last):
            if abs(price - day_open) * BPS > allowed:
                self.halted[token_id] = self.day
                raise PriceMoveHaltError(
                    f"token {token_id}: a fill at {price} sen/t would move more than "
                    f"{_pct(config.halt_move_bps)} from the day's open {day_open} sen/t; order refused and "
                    f"market halted for the rest of the UTC day",
                    token_id=token_id,
                    price=price,
                    day_open=day_open,
                    halt_move_bps=config.halt_move_bps,
                )

    def to_dict(self) -> dict[str, Any]:
        """Plain-data state (for the engine snapshot)."""
        return {
            "config": self.config.to_dict(),
            "references": [[t, r.price, r.as_of] for t, r in self.references.items()],
            "day": self.day,
            "account_traded": _pairs(self.account_traded),
            "market_traded": _pairs(self.market_traded),
            "day_open": _pairs(self.day_open),
            "halted": _pairs(self.halted),
            "open_volume": _pairs(self.open_volume),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Safeguards:
        """Rebuild from :meth:`to_dict` output."""
        guards = cls(config=SafeguardConfig.from_dict(data["config"]), day=data["day"])
        for token, price, as_of in data["references"]:
            guards.set_reference(token, price, as_of)
        guards.account_traded = {k: v for k, v in data["account_traded"]}
        guards.market_traded = {k: v for k, v in data["market_traded"]}
        guards.day_open = {k: v for k, v in data["day_open"]}
        guards.halted = {k: v for k, v in data["halted"]}
        guards.open_volume = {k: v for k, v in data["open_volume"]}
        return guards
