"""Typed rejections of the market: one class per rule, each naming the limit and the values involved.

Input the caller can fix (a malformed order, a price outside the band, a wrong lot) is a
:class:`~common.errors.ValidationError` (422); a rejection that depends on the market's current state
(stale reference, a daily limit reached, a halt, a duplicate id) is a :class:`~common.errors.ConflictError`
(409). Whenever one of them is raised by the engine, nothing in the engine has changed, except that a
:class:`PriceMoveHaltError` leaves the market halted.
"""

from __future__ import annotations

from common.errors import ConflictError, NotFoundError, ValidationError


class InvalidOrderError(ValidationError):
    """The order is malformed: wrong types, non-positive amount or price, already expired."""

    code = "invalid_order"


class LotSizeError(ValidationError):
    """The amount is not a whole number of lots."""

    code = "lot_size"


class MinimumPriceError(ValidationError):
    """The price is below the market's minimum price."""

    code = "minimum_price"


class PriceBandError(ValidationError):
    """The price is further from the reference price than the band allows."""

    code = "price_band"


class ReferencePriceMissingError(ConflictError):
    """No reference price is known for the token, so the band cannot be checked."""

    code = "reference_price_missing"


class StaleReferencePriceError(ConflictError):
    """The reference price is older than the configured maximum age."""

    code = "reference_price_stale"


class AccountDailyLimitError(ConflictError):
    """The account's traded plus open volume today would exceed its daily limit."""

    code = "account_daily_limit"


class MarketDailyLimitError(ConflictError):
    """The token's traded volume today would exceed the market's daily limit."""

    code = "market_daily_limit"


class MarketHaltedError(ConflictError):
    """The market for the token is halted; new orders are refused (cancels still work)."""

    code = "market_halted"


class PriceMoveHaltError(MarketHaltedError):
    """The order would trade too far from the day's open: it is refused and the market is halted."""

    code = "price_move_halt"


class DuplicateOrderError(ConflictError):
    """An order with the same id is already known to the engine."""

    code = "duplicate_order"


class OrderNotOpenError(ConflictError):
    """The order exists but is no longer open (filled, cancelled or expired)."""

    code = "order_not_open"


class UnknownOrderError(NotFoundError):
    """No order with that id is known to the engine."""

    code = "unknown_order"


class FillNotPendingError(ConflictError):
    """The fill is not awaiting settlement (unknown, already confirmed or already rolled back)."""

    code = "fill_not_pending"
