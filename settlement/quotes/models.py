"""SQL table of firm quotes (SEP-38 ``POST /quote`` results).

A quote is written once and only ever changes to record the single payment that used it
(``payment_id``, set by a conditional update while the quote is unexpired and unused).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from fractions import Fraction
from typing import Any

from sqlalchemy import JSON, BigInteger, CheckConstraint, String, UniqueConstraint, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from common.sql.base import Base
from common.sql.helpers import UtcDateTime
from common.sql.types import Uint256


class Asset(StrEnum):
    """Assets the platform quotes between."""

    PI = "PI"
    """Pi, amounts in minor units of 10^-7 Pi."""
    IDR = "IDR"
    """Rupiah as MSC, amounts in sen."""


class Quote(Base):
    """A firm price to sell ``sell_amount`` Pi for ``buy_amount`` sen until ``expires_at``."""

    __tablename__ = "quotes"
    __table_args__ = (
        UniqueConstraint("payment_id"),
        CheckConstraint("sell_amount > 0", name="sell_amount_positive"),
        CheckConstraint("buy_amount > 0", name="buy_amount_positive"),
        CheckConstraint("fee_total >= 0 AND fee_total < sell_amount", name="fee_below_sell_amount"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    sell_asset: Mapped[str] = mapped_column(String(8), nullable=False)
    buy_asset: Mapped[str] = mapped_column(String(8), nullable=False)
    sell_amount: Mapped[int] = mapped_column(
        BigInteger, nullable=False, doc="Pi minor units (10^-7 Pi) the customer pays, fee included."
    )
    buy_amount: Mapped[int] = mapped_column(
        BigInteger, nullable=False, doc="Sen (MSC units) credited to the merchant, rounded down."
    )
    fee_total: Mapped[int] = mapped_column(
        BigInteger, nullable=False, doc="Pi minor units kept as fee; sum of fee_details amounts."
    )
    fee_asset: Mapped[str] = mapped_column(String(8), nullable=False)
    fee_details: Mapped[list[dict[str, Any]]] = mapped_column(
        JSON, nullable=False, doc='Itemised fee: [{"name": str, "amount": int Pi minor units}].'
    )
    price_numerator: Mapped[int] = mapped_column(
        Uint256, nullable=False, doc="Quote price, Pi minor units per sen: numerator (lowest terms)."
    )
    price_denominator: Mapped[int] = mapped_column(Uint256, nullable=False, doc="Quote price: denominator.")
    market_price_numerator: Mapped[int] = mapped_column(
        Uint256, nullable=False, doc="Source's price before rounding, Pi minor units per sen: numerator."
    )
    market_price_denominator: Mapped[int] = mapped_column(
        Uint256, nullable=False, doc="Source's price: denominator."
    )
    rate_idr_per_pi: Mapped[str] = mapped_column(
        String(64), nullable=False, doc="The source's rate as the exact decimal text it gave."
    )
    rate_source: Mapped[str] = mapped_column(String(500), nullable=False)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, nullable=False)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime, nullable=False)
    payment_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, nullable=True, doc="The one payment that used this quote."
    )
    used_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)

    @property
    def price(self) -> Fraction:
        """Pi minor units per sen, fee excluded: ``sell_amount - fee_total == price * buy_amount``."""
        return Fraction(self.price_numerator, self.price_denominator)

    @property
    def market_price(self) -> Fraction:
        """The rate source's price in Pi minor units per sen."""
        return Fraction(self.market_price_numerator, self.market_price_denominator)

    @property
    def total_price(self) -> Fraction:
        """Pi minor units per sen, fee included: ``sell_amount / buy_amount``."""
        return Fraction(self.sell_amount, self.buy_amount)
