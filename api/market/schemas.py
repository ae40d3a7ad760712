"""Request and response shapes of the carbon market.

Amounts are whole tonnes, prices MSC sen per tonne (JSON integers), ``expiry`` unix seconds as signed,
engine times ``*_ms`` milliseconds since the epoch. An order is identified by the contract's
``hashOrder`` (0x + 64 hex digits).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from api.merchants.schemas import EvmAddress
from api.types import Bigint, Uint64, Uint256

ORDER_ID_PATTERN = r"^0x[0-9a-f]{64}$"
"""Amounts, prices and times are stored as SQL BIGINT (:data:`api.types.Bigint`): larger ones are refused."""

OrderId = Annotated[str, Field(pattern=ORDER_ID_PATTERN, description="The contract's `hashOrder`, 0x-hex.")]


class OrderTerms(BaseModel):
    """The `ICarbonMarket.Order` the trader signed (EIP-712, domain `MSC Carbon Market` / `1`)."""

    model_config = ConfigDict(extra="forbid")

    trader: EvmAddress = Field(description="The signer; must be the calling merchant's address.")
    side: Literal["buy", "sell"]
    token_id: Uint256 = Field(description="CarbonCredits token id.")
    amount: Bigint = Field(gt=0, description="Tonnes.")
    price: Bigint = Field(gt=0, description="Limit, MSC sen per tonne.")
    expiry: Uint64 = Field(gt=0, description="Unix seconds.")
    salt: Uint256
    nonce: Uint256 = Field(description="The trader's current `nonceOf` on the market.")


class OrderSubmit(BaseModel):
    """A signed order."""

    model_config = ConfigDict(extra="forbid")

    order: OrderTerms
    signature: str = Field(pattern=r"^0x[0-9a-fA-F]{130}$", description="65-byte `r || s || v`, 0x-hex.")


class OrderRead(BaseModel):
    """An order and its state in the book."""

    model_config = ConfigDict(from_attributes=True)

    order_id: str
    trader: str
    side: str
    token_id: int
    amount: int
    price: int
    expiry: int
    salt: int
    nonce: int
    sequence: int = Field(description="Time priority.")
    remaining: int = Field(description="Tonnes resting in the book.")
    filled: int = Field(description="Tonnes matched (settled or awaiting settlement).")
    cancelled: int
    status: str = Field(description="`open`, `filled`, `cancelled` or `expired`.")
    cancel_reason: str | None
    settlement_error: str | None = Field(description="Why a fill of it failed on-chain because of it.")
    created_at: datetime


class FillRead(BaseModel):
    """One match, at the maker's price; it settles on-chain later."""

    sequence: int
    token_id: int
    maker_order_id: str
    taker_order_id: str
    taker_side: str
    amount: int
    price: int
    timestamp_ms: int


class OrderSubmitted(BaseModel):
    """The order after matching, and the fills it made."""

    order: OrderRead
    fills: list[FillRead]
    replayed: bool = Field(description="True when this signed order had already been accepted.")


class LevelRead(BaseModel):
    """One price level."""

    price: int
    amount: int = Field(description="Tonnes resting at this price.")
    orders: int


class BookRead(BaseModel):
    """Aggregated book, best prices first."""

    token_id: int
    bids: list[LevelRead]
    asks: list[LevelRead]


class TradeRead(BaseModel):
    """A fill that was not rolled back; `status` says whether it settled on-chain yet."""

    sequence: int
    token_id: int
    taker_side: str
    amount: int
    price: int
    timestamp_ms: int
    status: str = Field(description="`pending` or `settled`.")
    buyer: str | None = None
    seller: str | None = None
    fee: int | None = Field(default=None, description="MSC sen to the fee recipient, once settled.")
    tx_hash: str | None = None
    block_number: int | None = None


class CandleRead(BaseModel):
    """OHLCV of the trades in `[start_ms, start_ms + interval)`."""

    start_ms: int
    open: int
    high: int
    low: int
    close: int
    volume: int = Field(description="Tonnes.")
    value: int = Field(description="MSC sen.")
    trades: int


class ReferenceSet(BaseModel):
    """A token's reference price (e.g. from IDXCarbon); orders must lie in the band around it."""

    model_config = ConfigDict(extra="forbid")

    price: Bigint = Field(gt=0, description="Sen per tonne.")
