"""Orders and fills: the plain records the matching engine works on.

Units: ``amount`` is whole tonnes of CO2e (one ERC-1155 token each), ``price`` is integer sen (1 MSC unit)
per tonne, times are integer milliseconds since the Unix epoch (UTC). Nothing here is ever a float.

Invariants (kept by the engine, checked by the tests):

* ``filled + remaining + cancelled == amount`` for every order, at all times.
* ``remaining > 0`` exactly when the order is OPEN and resting in its book; a dead order has
  ``remaining == 0``.
* ``sequence`` is assigned once, at acceptance, from a strictly increasing counter: it is the time priority.
* A fill's price is always the maker's (resting order's) price.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

DAY_MS = 86_400_000
"""Milliseconds in a UTC day: ``now_ms // DAY_MS`` is the day number the daily limits reset on."""


class Side(StrEnum):
    """Which way an order trades the carbon token (against MSC)."""

    BUY = "buy"
    SELL = "sell"

    @property
    def opposite(self) -> Side:
        """The side this order trades against."""
        return Side.SELL if self is Side.BUY else Side.BUY


class OrderStatus(StrEnum):
    """Lifecycle of an order inside the engine."""

    OPEN = "open"
    FILLED = "filled"
    CANCELLED = "cancelled"
    EXPIRED = "expired"


class CancelReason(StrEnum):
    """Why quantity of an order was cancelled (kept on the order for the event log and the API)."""

    USER = "user"
    SELF_MATCH = "self_match"
    EXPIRED = "expired"
    ROLLBACK = "rollback"
    ROLLBACK_CROSSED = "rollback_crossed"
    SETTLEMENT_FAILED = "settlement_failed"


@dataclass(slots=True)
class Order:
    """A signed limit order for ``amount`` tonnes of ``token_id`` at ``price`` sen per tonne.

    The caller fills in the identity and terms; the engine owns the object once :meth:`submit` accepts
    it and sets ``sequence``, ``timestamp`` and the mutable state (``remaining``, ``filled``,
    ``cancelled``, ``status``). ``beneficial_owner`` identifies the account behind the wallet; two
    orders of the same beneficial owner never trade with each other (self-match prevention), and the
    per-account daily volume limit is counted per beneficial owner.
    """

    order_id: str
    owner: str
    beneficial_owner: str
    side: Side
    token_id: int
    amount: int
    price: int
    expiry: int | None = None
    sequence: int = 0
    timestamp: int = 0
    remaining: int = 0
    filled: int = 0
    cancelled: int = 0
    status: OrderStatus = OrderStatus.OPEN
    cancel_reason: CancelReason | None = None

    def to_dict(self) -> dict[str, Any]:
        """The order as plain JSON-compatible data (for snapshots and the event log)."""
        return {
            "order_id": self.order_id,
            "owner": self.owner,
            "beneficial_owner": self.beneficial_owner,
            "side": str(self.side),
            "token_id": self.token_id,
            "amount": self.amount,
            "price": self.price,
            "expiry": self.expiry,
            "sequence": self.sequence,
            "timestamp": self.timestamp,
            "remaining": self.remaining,
            "filled": self.filled,
            "cancelled": self.cancelled,
            "status": str(self.status),
            "cancel_reason": None if self.cancel_reason is None else str(self.cancel_reason),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Order:
        """Rebuild an order from :meth:`to_dict` output."""
        reason = data["cancel_reason"]
        return cls(
            order_id=data["order_id"],
            owner=data["owner"],
            beneficial_owner=data["beneficial_owner"],
            side=Side(data["side"]),
            token_id=data["token_id"],
            amount=data["amount"],
            price=data["price"],
            expiry=data["expiry"],
            sequence=data["sequence"],
            timestamp=data["timestamp"],
            remaining=data["remaining"],
            filled=data["filled"],
            cancelled=data["cancelled"],
            status=OrderStatus(data["status"]),
            cancel_reason=None if reason is None else CancelReason(reason),
        )


@dataclass(frozen=True, slots=True)
class Fill:
    """One match between a resting (maker) order and an incoming (taker) order, at the maker's price.

    ``sequence`` is the engine's fill counter (unique, increasing); settlement refers to a fill by it.
    """

    sequence: int
    token_id: int
    maker_order_id: str
    taker_order_id: str
    maker_account: str
    taker_account: str
    taker_side: Side
    amount: int
    price: int
    timestamp: int

    @property
    def buy_order_id(self) -> str:
        """The order on the buying side of this fill."""
        return self.taker_order_id if self.taker_side is Side.BUY else self.maker_order_id

    @property
    def sell_order_id(self) -> str:
        """The order on the selling side of this fill."""
        return self.maker_order_id if self.taker_side is Side.BUY else self.taker_order_id

    @property
    def value(self) -> int:
        """MSC owed by the buyer, in sen (tonnes x sen per tonne)."""
        return self.amount * self.price

    def to_dict(self) -> dict[str, Any]:
        """The fill as plain JSON-compatible data."""
        return {
            "sequence": self.sequence,
            "token_id": self.token_id,
            "maker_order_id": self.maker_order_id,
            "taker_order_id": self.taker_order_id,
            "maker_account": self.maker_account,
            "taker_account": self.taker_account,
            "taker_side": str(self.taker_side),
            "amount": self.amount,
            "price": self.price,
            "timestamp": self.timestamp,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Fill:
        """Rebuild a fill from :meth:`to_dict` output."""
        return cls(
            sequence=data["sequence"],
            token_id=data["token_id"],
            maker_order_id=data["maker_order_id"],
            taker_order_id=data["taker_order_id"],
            maker_account=data["maker_account"],
            taker_account=data["taker_account"],
            taker_side=Side(data["taker_side"]),
            amount=data["amount"],
            price=data["price"],
            timestamp=data["timestamp"],
        )
