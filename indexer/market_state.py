"""Pure state transitions of the CarbonMarket rows, one event at a time.

Like :mod:`indexer.platform_state`: an order row moves forward with :func:`apply_order` and back
with :func:`revert_order`, a nonce row with :func:`apply_nonce` / :func:`revert_nonce`; the
projection uses both against rows read from SQL, the reader uses the ``revert_*`` ones in memory
to answer as of a confirmed block. Trades and the terms/allowlist histories are plain rows
(``*_row``) deleted above the ancestor on a reorg.

Invariants the exactness tests check against the contract: per order hash, ``filled`` equals
``filled(orderHash)`` and is the sum of the trades naming it; ``cancellations > 0`` equals
``cancelled(orderHash)``; per trader, ``nonce`` equals ``nonceOf(trader)``; the latest terms
rows equal ``terms()``.
"""

from __future__ import annotations

from typing import Any, Protocol

from sqlalchemy import Table

from indexer.errors import ProjectionError
from indexer.market_models import (
    MarketAllowlistChange,
    MarketNonce,
    MarketOrder,
    MarketTermsChange,
    MarketTrade,
    OrderSide,
)
from indexer.platform_state import ChainEvent, Key, Row, _need, _take

TRADES: Table = MarketTrade.__table__  # type: ignore[assignment]
ORDERS: Table = MarketOrder.__table__  # type: ignore[assignment]
NONCES: Table = MarketNonce.__table__  # type: ignore[assignment]
TERMS: Table = MarketTermsChange.__table__  # type: ignore[assignment]
ALLOWLIST: Table = MarketAllowlistChange.__table__  # type: ignore[assignment]

ORDER_EVENTS = ("OrderFilled", "OrderCancelled")
"""CarbonMarket events that change an order row."""
MARKET_EVENTS = (*ORDER_EVENTS, "NonceIncremented", "FeeSet", "SizeLimitSet", "AllowlistSet")
"""Every CarbonMarket event the market projection consumes."""


class _Positioned(ChainEvent, Protocol):
    """What the row builders read besides :class:`ChainEvent` (``EventRecord`` fits)."""

    @property
    def log_index(self) -> int: ...

    @property
    def tx_hash(self) -> str: ...


def order_keys(e: ChainEvent) -> list[Key]:
    """(market address, order hash) of the orders an event touches: two for a fill, one for a cancel."""
    a = e.args
    if e.event == "OrderFilled":
        return [(e.address, str(a["buyHash"]).lower()), (e.address, str(a["sellHash"]).lower())]
    return [(e.address, str(a["orderHash"]).lower())]


def nonce_key(e: ChainEvent) -> Key:
    """(market address, trader) of ``NonceIncremented``."""
    return e.address, str(e.args["trader"]).lower()


def trade_row(e: _Positioned) -> Row:
    """The ``market_trades`` row of an ``OrderFilled``."""
    a = e.args
    amount, price = int(a["amount"]), int(a["price"])
    return {
        "market": e.address,
        "block_number": e.block_number,
        "log_index": e.log_index,
        "tx_hash": e.tx_hash,
        "buy_hash": str(a["buyHash"]).lower(),
        "sell_hash": str(a["sellHash"]).lower(),
        "token_id": int(a["tokenId"]),
        "buyer": str(a["buyer"]).lower(),
        "seller": str(a["seller"]).lower(),
        "amount": amount,
        "price": price,
        "notional": amount * price,
        "fee": int(a["fee"]),
    }


def terms_row(e: _Positioned) -> Row:
    """The ``market_terms`` row of a ``FeeSet`` or ``SizeLimitSet``."""
    a = e.args
    fee = e.event == "FeeSet"
    return {
        "market": e.address,
        "block_number": e.block_number,
        "log_index": e.log_index,
        "fee_bps": int(a["feeBps"]) if fee else None,
        "fee_recipient": str(a["recipient"]).lower() if fee else None,
        "size_limit": None if fee else int(a["sizeLimit"]),
    }


def allowlist_row(e: _Positioned) -> Row:
    """The ``market_allowlist`` row of an ``AllowlistSet``."""
    allowed = e.args["allowed"]
    return {
        "market": e.address,
        "block_number": e.block_number,
        "log_index": e.log_index,
        "account": str(e.args["account"]).lower(),
        "allowed": allowed if isinstance(allowed, bool) else str(allowed).lower() == "true",
    }


# ---------------------------------------------------------------------- orders


def _fill_side(e: ChainEvent, order_hash: str) -> tuple[str, str]:
    """(side, trader) of ``order_hash`` in the fill ``e``."""
    a = e.args
    if order_hash == str(a["buyHash"]).lower():
        return OrderSide.BUY.value, str(a["buyer"]).lower()
    if order_hash == str(a["sellHash"]).lower():
        return OrderSide.SELL.value, str(a["seller"]).lower()
    raise ProjectionError(f"OrderFilled at block {e.block_number} does not name order {order_hash}")


def apply_order(row: Row | None, e: ChainEvent, order_hash: str) -> Row:
    """The row of order ``order_hash`` after event ``e`` (``row`` None: not seen yet)."""
    if e.event == "OrderFilled":
        side, trader = _fill_side(e, order_hash)
        amount = int(e.args["amount"])
        token_id = int(e.args["tokenId"])
        if row is None:
            new: Row = _new_order(e, order_hash, trader)
        else:
            new = dict(row)
            if new["cancellations"]:
                raise ProjectionError(
                    f"order {order_hash} filled after its cancellation (block {e.block_number})"
                )
            if (
                new["trader"] != trader
                or new["side"] not in (None, side)
                or new["token_id"] not in (None, token_id)
            ):
                raise ProjectionError(
                    f"OrderFilled at block {e.block_number} disagrees with order {order_hash}"
                )
        new.update(side=side, token_id=token_id)
        new["filled"] += amount
        new["fills"] += 1
        return new
    if e.event == "OrderCancelled":
        trader = str(e.args["trader"]).lower()
        new = _new_order(e, order_hash, trader) if row is None else dict(row)
        if new["trader"] != trader:
            raise ProjectionError(f"OrderCancelled at block {e.block_number} names another trader")
        if new["cancellations"] == 0:
            new["cancelled_block"] = e.block_number
        new["cancellations"] += 1
        return new
    raise ProjectionError(f"{e.event} is not an order event")


def revert_order(row: Row | None, e: ChainEvent, order_hash: str) -> Row | None:
    """The row of ``order_hash`` before event ``e``, the latest applied to it (None: never seen)."""
    new = _need(row, e, "order")
    if e.event == "OrderFilled":
        _take(new, "filled", int(e.args["amount"]), e)
        _take(new, "fills", 1, e)
        if new["fills"] == 0:
            new.update(side=None, token_id=None)
    elif e.event == "OrderCancelled":
        _take(new, "cancellations", 1, e)
        if new["cancellations"] == 0:
            new["cancelled_block"] = None
    else:
        raise ProjectionError(f"{e.event} is not an order event")
    if new["fills"] == 0 and new["cancellations"] == 0:
        return None
    return new


def _new_order(e: ChainEvent, order_hash: str, trader: str) -> Row:
    return {
        "market": e.address,
        "order_hash": order_hash,
        "trader": trader,
        "side": None,
        "token_id": None,
        "filled": 0,
        "fills": 0,
        "cancellations": 0,
        "first_block": e.block_number,
        "cancelled_block": None,
    }


# ---------------------------------------------------------------------- nonces


def apply_nonce(row: Row | None, e: ChainEvent) -> Row:
    """The trader's nonce row after ``NonceIncremented`` (nonces only ever go up by one)."""
    nonce = int(e.args["nonce"])
    before = 0 if row is None else int(row["nonce"])
    if nonce != before + 1:
        raise ProjectionError(
            f"NonceIncremented to {nonce} at block {e.block_number}, the mirror has {before}"
        )
    market, trader = nonce_key(e)
    return {"market": market, "trader": trader, "nonce": nonce}


def revert_nonce(row: Row | None, e: ChainEvent) -> Row | None:
    """The trader's nonce row before ``NonceIncremented`` (None: back to nonce 0)."""
    new = _need(row, e, "nonce")
    if int(new["nonce"]) != int(e.args["nonce"]):
        raise ProjectionError(f"reverting NonceIncremented at block {e.block_number} out of order")
    new["nonce"] = int(new["nonce"]) - 1
    return new if new["nonce"] else None


def latest_terms(rows: list[Any]) -> dict[str, Any]:
    """Fee, fee recipient and size limit from ``market_terms`` rows in chain order (None: never set)."""
    terms: dict[str, Any] = {"fee_bps": None, "fee_recipient": None, "size_limit": None}
    for r in rows:
        if r.fee_bps is not None:
            terms["fee_bps"], terms["fee_recipient"] = r.fee_bps, r.fee_recipient
        if r.size_limit is not None:
            terms["size_limit"] = r.size_limit
    return terms
