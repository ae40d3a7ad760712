"""Quote request and response shapes: SEP-38 fields as decimal strings, exact integers beside them.

Money conventions of the API: SEP-38 fields (`sell_amount`, `buy_amount`, `price`,
`total_price`, `fee`) are **decimal strings of whole units** (Pi, Rupiah) as SEP-38 specifies, for
display; everywhere else amounts are **JSON integers of minor units** (Pi: 10^-7 Pi, IDR: sen),
which is what the platform acts on. Minor-unit integers stay below 2^63; clients whose JSON
parser uses doubles must parse them as big integers above 2^53.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from api.types import Bigint, CleanCode
from settlement.quotes.models import Quote
from settlement.quotes.schemas import QuoteRead


class QuoteRequest(BaseModel):
    """A request for a firm quote: give exactly one of `sell_amount` and `buy_amount`."""

    model_config = ConfigDict(extra="forbid")

    sell_asset: CleanCode = Field(default="PI", description="Asset the customer pays; only `PI`.")
    buy_asset: CleanCode = Field(default="IDR", description="Asset the merchant receives; only `IDR`.")
    sell_amount: Bigint | None = Field(
        default=None, gt=0, description="Integer Pi minor units (10^-7 Pi) to sell, fee included."
    )
    buy_amount: Bigint | None = Field(default=None, gt=0, description="Integer sen to receive.")


class Sep38FeeDetail(BaseModel):
    """One item of the fee, SEP-38 style."""

    name: str
    amount: str = Field(description="Decimal string in whole units of the fee asset.")


class Sep38Fee(BaseModel):
    """SEP-38's fee object."""

    total: str = Field(description="Decimal string in whole units of `asset`.")
    asset: str
    details: list[Sep38FeeDetail]


class Fraction(BaseModel):
    """An exact ratio of minor units: Pi minor units per sen."""

    numerator: int
    denominator: int


class QuoteMinorUnits(BaseModel):
    """The quote's exact figures as integers of minor units."""

    sell_amount: int = Field(description="Pi minor units (10^-7 Pi), fee included.")
    buy_amount: int = Field(description="Sen credited to the merchant.")
    fee_total: int = Field(description="Pi minor units kept as fee.")
    price: Fraction = Field(description="Pi minor units per sen, fee excluded; exact.")
    total_price: Fraction = Field(description="Pi minor units per sen, fee included; exact.")


class QuoteResponse(BaseModel):
    """A firm quote in SEP-38's `GET /quote/:id` shape plus exact minor-unit figures."""

    model_config = ConfigDict(populate_by_name=True)

    id: uuid.UUID
    expires_at: datetime = Field(description="Until when the price is honoured (UTC).")
    total_price: str = Field(description="SEP-38: Pi per Rupiah, fee included (decimal string).")
    price: str = Field(description="SEP-38: Pi per Rupiah, fee excluded (decimal string).")
    sell_asset: str
    sell_amount: str = Field(description="SEP-38: Pi sold, decimal string of whole Pi.")
    buy_asset: str
    buy_amount: str = Field(description="SEP-38: Rupiah bought, decimal string of whole Rupiah.")
    fee: Sep38Fee
    minor_units: QuoteMinorUnits = Field(description="The same quote in integers of minor units.")
    payment_id: uuid.UUID | None = Field(default=None, description="The payment that used the quote, if any.")

    @classmethod
    def of(cls, quote: Quote) -> QuoteResponse:
        """The response for a stored quote."""
        read = QuoteRead.from_quote(quote)
        sep38 = read.sep38()
        return cls(
            **sep38,
            minor_units=QuoteMinorUnits(
                sell_amount=read.sell_amount,
                buy_amount=read.buy_amount,
                fee_total=read.fee.total,
                price=Fraction(numerator=read.price.numerator, denominator=read.price.denominator),
                total_price=Fraction(
                    numerator=read.total_price.numerator, denominator=read.total_price.denominator
                ),
            ),
            payment_id=read.payment_id,
        )
