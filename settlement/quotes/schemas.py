"""Request and response shapes of quotes, after SEP-38's ``POST /quote``.

Amounts are integers of minor units (Pi: 10^-7 Pi, IDR: sen) in our API; :meth:`QuoteRead.sep38`
renders the SEP-38 wire form with decimal strings in whole asset units (display only: the
integers and the exact price fraction are what the platform acts on).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal, localcontext
from fractions import Fraction
from typing import Any

from pydantic import BaseModel, ConfigDict, StrictInt

from common.money import SEN_PER_RUPIAH
from settlement.pi.amounts import MINOR_PER_PI, to_stellar_amount
from settlement.quotes.models import Quote

PRICE_DECIMALS = 12


class QuoteCreate(BaseModel):
    """A request for a firm quote: exactly one of ``sell_amount`` and ``buy_amount``."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    sell_asset: str = "PI"
    buy_asset: str = "IDR"
    sell_amount: StrictInt | None = None
    """Pi minor units to sell (fee included)."""
    buy_amount: StrictInt | None = None
    """Sen to receive."""


class FeeDetail(BaseModel):
    """One item of the fee."""

    model_config = ConfigDict(frozen=True)

    name: str
    amount: int
    """Minor units of the fee asset."""


class Fee(BaseModel):
    """SEP-38's fee object: total, asset and the items that make it up."""

    model_config = ConfigDict(frozen=True)

    total: int
    asset: str
    details: list[FeeDetail]


class PriceRead(BaseModel):
    """An exact price: ``numerator / denominator`` Pi minor units per sen."""

    model_config = ConfigDict(frozen=True)

    numerator: int
    denominator: int

    @classmethod
    def of(cls, value: Fraction) -> PriceRead:
        """The read form of a fraction."""
        return cls(numerator=value.numerator, denominator=value.denominator)


class QuoteRead(BaseModel):
    """A firm quote."""

    model_config = ConfigDict(frozen=True)

    id: uuid.UUID
    expires_at: datetime
    sell_asset: str
    sell_amount: int
    buy_asset: str
    buy_amount: int
    price: PriceRead
    total_price: PriceRead
    fee: Fee
    payment_id: uuid.UUID | None = None

    @classmethod
    def from_quote(cls, quote: Quote) -> QuoteRead:
        """The read model of a stored quote."""
        return cls(
            id=quote.id,
            expires_at=quote.expires_at,
            sell_asset=quote.sell_asset,
            sell_amount=quote.sell_amount,
            buy_asset=quote.buy_asset,
            buy_amount=quote.buy_amount,
            price=PriceRead.of(quote.price),
            total_price=PriceRead.of(quote.total_price),
            fee=Fee(
                total=quote.fee_total,
                asset=quote.fee_asset,
                details=[FeeDetail(name=d["name"], amount=int(d["amount"])) for d in quote.fee_details],
            ),
            payment_id=quote.payment_id,
        )

    def sep38(self) -> dict[str, Any]:
        """The SEP-38 ``GET /quote/:id`` body: decimal strings of whole Pi and Rupiah."""
        return {
            "id": str(self.id),
            "expires_at": self.expires_at.isoformat().replace("+00:00", "Z"),
            "total_price": _pi_per_idr(self.total_price),
            "price": _pi_per_idr(self.price),
            "sell_asset": self.sell_asset,
            "sell_amount": to_stellar_amount(self.sell_amount),
            "buy_asset": self.buy_asset,
            "buy_amount": _idr(self.buy_amount),
            "fee": {
                "total": to_stellar_amount(self.fee.total),
                "asset": self.fee.asset,
                "details": [
                    {"name": d.name, "amount": to_stellar_amount(d.amount)} for d in self.fee.details
                ],
            },
        }


def _idr(sen: int) -> str:
    whole, cents = divmod(sen, SEN_PER_RUPIAH)
    return f"{whole}.{cents:02d}"


def _pi_per_idr(price: PriceRead) -> str:
    """Pi per Rupiah from Pi minor units per sen, to PRICE_DECIMALS places (display only)."""
    with localcontext() as ctx:
        ctx.prec = 60
        value = Decimal(price.numerator * SEN_PER_RUPIAH) / Decimal(price.denominator * MINOR_PER_PI)
        return str(value.quantize(Decimal(1).scaleb(-PRICE_DECIMALS)))
