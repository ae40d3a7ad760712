"""``/v1/market``: submit, cancel and list signed carbon orders; book depth, trades, candles.

See :mod:`api.market.service` for who may trade (merchant keys, as their own ``evm_address``).
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Path, Query, Response
from sqlalchemy.orm import Session, sessionmaker

from api.auth import Principal, require_role
from api.db import get_sessions
from api.errors import error_responses
from api.idempotency import Idempotency, idempotency
from api.market.schemas import (
    ORDER_ID_PATTERN,
    BookRead,
    CandleRead,
    FillRead,
    LevelRead,
    OrderRead,
    OrderSubmit,
    OrderSubmitted,
    ReferenceSet,
    TradeRead,
)
from api.market.service import get_market, trader_address
from api.models import Role
from api.types import INT64_MAX
from common.errors import MSCError
from market.errors import UnknownOrderError
from market.orders import Fill, Side
from market.service import MarketService
from market.signed import SignedOrder

router = APIRouter(prefix="/v1/market", tags=["carbon market"])

Sessions = Annotated[sessionmaker[Session], Depends(get_sessions)]
Market = Annotated[MarketService, Depends(get_market)]
Merchant = Annotated[Principal, Depends(require_role(Role.MERCHANT))]
Operator = Annotated[Principal, Depends(require_role(Role.OPERATOR))]
TokenId = Annotated[int, Path(ge=0, le=2**256 - 1, description="CarbonCredits token id.")]
OrderIdPath = Annotated[str, Path(pattern=ORDER_ID_PATTERN, description="The contract's `hashOrder`.")]
INTERVALS_MS = {"1m": 60_000, "5m": 300_000, "1h": 3_600_000, "1d": 86_400_000}


class TraderMismatchError(MSCError):
    """The order is signed for another address than the calling merchant's."""

    code = "trader_mismatch"
    status_code = 403

    def __init__(self, trader: str, own: str) -> None:
        super().__init__(f"this key trades as {own}; it cannot submit an order of {trader}", trader=trader)


def _fill(fill: Fill) -> FillRead:
    return FillRead(
        sequence=fill.sequence,
        token_id=fill.token_id,
        maker_order_id=fill.maker_order_id,
        taker_order_id=fill.taker_order_id,
        taker_side=str(fill.taker_side),
        amount=fill.amount,
        price=fill.price,
        timestamp_ms=fill.timestamp,
    )


@router.post(
    "/orders",
    status_code=201,
    response_model=OrderSubmitted,
    responses={200: {"model": OrderSubmitted}, **error_responses(400, 401, 403, 409, 413, 422, 503)},
    summary="Submit a signed order (merchant)",
)
def submit_order(
    data: OrderSubmit,
    principal: Merchant,
    idem: Annotated[Idempotency, Depends(idempotency)],
    sessions: Sessions,
    market: Market,
) -> Response:
    """Checks the order (signature, expiry, nonce, allowlist above the size limit, MSC balance and
    allowance for a buy, credits and operator approval for a sell, market safeguards), matches it and
    answers once it is stored: 201 with its state and fills. The same signed order again answers 200
    with its current state (`replayed: true`); nothing is matched twice. With `Idempotency-Key`, a
    repeat (concurrent ones too) replays the first answer byte for byte."""
    own = trader_address(sessions, principal)
    if data.order.trader != own:
        raise TraderMismatchError(data.order.trader, own)
    terms = data.order
    signed = SignedOrder(
        trader=terms.trader,
        side=Side(terms.side),
        token_id=terms.token_id,
        amount=terms.amount,
        price=terms.price,
        expiry=terms.expiry,
        salt=terms.salt,
        nonce=terms.nonce,
        signature=data.signature.lower(),
    )

    def effect() -> tuple[OrderSubmitted, int]:
        result = market.submit(signed)
        body = OrderSubmitted(
            order=OrderRead.model_validate(result.order),
            fills=[_fill(f) for f in result.fills],
            replayed=result.replayed,
        )
        return body, 200 if result.replayed else 201

    return idem.run_committed(sessions, effect)


@router.get(
    "/orders",
    response_model=list[OrderRead],
    responses=error_responses(401, 403, 422),
    summary="My orders (merchant)",
)
def list_orders(
    principal: Merchant,
    sessions: Sessions,
    market: Market,
    status: Annotated[Literal["open", "filled", "cancelled", "expired"] | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[OrderRead]:
    """The calling merchant's orders, newest first; never another trader's."""
    rows = market.orders_of(trader_address(sessions, principal), status, limit)
    return [OrderRead.model_validate(r) for r in rows]


@router.get(
    "/orders/{order_id}",
    response_model=OrderRead,
    responses=error_responses(401, 403, 404, 422),
    summary="One of my orders (merchant)",
)
def get_order(order_id: OrderIdPath, principal: Merchant, sessions: Sessions, market: Market) -> OrderRead:
    """An order of the calling merchant; another trader's order answers 404."""
    row = market.store.order(order_id)
    if row is None or row.trader != trader_address(sessions, principal):
        raise UnknownOrderError(f"order {order_id} is unknown", order_id=order_id)
    return OrderRead.model_validate(row)


@router.delete(
    "/orders/{order_id}",
    response_model=OrderRead,
    responses=error_responses(401, 403, 404, 409, 422),
    summary="Cancel one of my orders (merchant)",
)
def cancel_order(order_id: OrderIdPath, principal: Merchant, sessions: Sessions, market: Market) -> OrderRead:
    """Takes the rest of the order out of the book (409 if it is no longer open). The signed order stays
    valid on-chain until its expiry; a trader who wants it void there too calls the contract's `cancel`."""
    return OrderRead.model_validate(market.cancel(order_id, trader_address(sessions, principal)))


@router.get(
    "/books/{token_id}", response_model=BookRead, responses=error_responses(422), summary="Book depth"
)
def get_book(token_id: TokenId, market: Market, levels: Annotated[int, Query(ge=1, le=100)] = 10) -> BookRead:
    """Aggregated resting orders per price, best first (public)."""
    depth = market.depth(token_id, levels)
    return BookRead(
        token_id=token_id,
        bids=[LevelRead(price=p, amount=a, orders=n) for p, a, n in depth["bids"]],
        asks=[LevelRead(price=p, amount=a, orders=n) for p, a, n in depth["asks"]],
    )


@router.get(
    "/trades/{token_id}", response_model=list[TradeRead], responses=error_responses(422), summary="Trades"
)
def list_trades(
    token_id: TokenId,
    market: Market,
    since_ms: Annotated[int | None, Query(ge=0, le=INT64_MAX)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[TradeRead]:
    """Fills of the token, newest first, with their on-chain settlement once settled (public).
    A fill that failed on-chain never appears."""
    result = []
    for fill, trade in market.trades(token_id, since_ms, limit):
        row = TradeRead(
            sequence=fill.sequence,
            token_id=fill.token_id,
            taker_side=fill.taker_side,
            amount=fill.amount,
            price=fill.price,
            timestamp_ms=fill.timestamp_ms,
            status=fill.status,
        )
        if trade is not None:
            row.buyer, row.seller, row.fee = trade.buyer, trade.seller, trade.fee
            row.tx_hash, row.block_number = trade.tx_hash, trade.block_number
        result.append(row)
    return result


@router.get(
    "/candles/{token_id}", response_model=list[CandleRead], responses=error_responses(422), summary="Candles"
)
def list_candles(
    token_id: TokenId,
    market: Market,
    interval: Annotated[Literal["1m", "5m", "1h", "1d"], Query()] = "1h",
    since_ms: Annotated[int | None, Query(ge=0, le=INT64_MAX)] = None,
) -> list[CandleRead]:
    """OHLCV candles of the token's trades, oldest first; intervals without trades are left out (public)."""
    return [
        CandleRead(
            start_ms=c.start,
            open=c.open,
            high=c.high,
            low=c.low,
            close=c.close,
            volume=c.volume,
            value=c.value,
            trades=c.trades,
        )
        for c in market.candles(token_id, INTERVALS_MS[interval], since_ms)
    ]


@router.put(
    "/references/{token_id}",
    status_code=204,
    responses=error_responses(401, 403, 422),
    summary="Set a token's reference price (operator)",
)
def set_reference(token_id: TokenId, data: ReferenceSet, principal: Operator, market: Market) -> Response:
    """Records the reference price orders of the token are banded around, as of now."""
    market.set_reference_price(token_id, data.price)
    return Response(status_code=204)
