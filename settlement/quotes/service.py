"""Making firm quotes and handing each to at most one payment.

See :mod:`settlement.quotes.pricing` for the arithmetic and its rounding rule.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from common.errors import ValidationError
from common.settings import EnvSettings
from common.sql.helpers import utcnow
from settlement.quotes import pricing, repository
from settlement.quotes.errors import QuoteAlreadyUsedError, QuoteExpiredError, QuoteNotFoundError
from settlement.quotes.models import Asset, Quote
from settlement.quotes.rates import RateSource


class QuoteSettings(EnvSettings):
    """How quotes are priced and how long they hold (``MSC_QUOTE_*``).

    Attributes:
        ttl_seconds: How long a firm quote is honoured.
        fee_bps: Service fee in basis points of the Pi sold.
        network_fee_minor: Fixed fee in Pi minor units per payment.
    """

    env_prefix = "MSC_QUOTE_"

    ttl_seconds: int = 300
    fee_bps: int = 100
    network_fee_minor: int = 0


SUPPORTED_PAIRS = {(Asset.PI, Asset.IDR)}


class QuoteService:
    """Quotes Pi -> IDR at the rate source's current rate.

    Args:
        rates: Where the rate comes from.
        settings: Fee and lifetime.
        clock: Current UTC time (injected so tests control expiry).
    """

    def __init__(
        self, rates: RateSource, settings: QuoteSettings, clock: Callable[[], datetime] = utcnow
    ) -> None:
        self.rates = rates
        self.settings = settings
        self.fees = pricing.FeeSchedule(settings.fee_bps, settings.network_fee_minor)
        self.clock = clock

    def create(
        self,
        session: Session,
        *,
        sell_asset: str,
        buy_asset: str,
        sell_amount: int | None = None,
        buy_amount: int | None = None,
    ) -> Quote:
        """Makes and stores a firm quote.

        Raises:
            ValidationError: unsupported assets, both or neither amount, a non-positive amount,
                or an amount too small to buy one sen after fees.
            RateUnavailableError: the rate source has no usable rate.
        """
        pair = _pair(sell_asset, buy_asset)
        if (sell_amount is None) == (buy_amount is None):
            raise ValidationError("give exactly one of sell_amount and buy_amount")
        rate = self.rates.current_rate()
        market = pricing.market_price(rate.idr_per_pi)
        if sell_amount is not None:
            conversion = pricing.for_sell_amount(sell_amount, market, self.fees)
        else:
            assert buy_amount is not None
            conversion = pricing.for_buy_amount(buy_amount, market, self.fees)
        now = self.clock()
        quote = Quote(
            id=uuid.uuid4(),
            sell_asset=str(pair[0]),
            buy_asset=str(pair[1]),
            sell_amount=conversion.sell_amount,
            buy_amount=conversion.buy_amount,
            fee_total=conversion.fee_total,
            fee_asset=str(pair[0]),
            fee_details=[{"name": name, "amount": amount} for name, amount in conversion.fee_details],
            price_numerator=conversion.price.numerator,
            price_denominator=conversion.price.denominator,
            market_price_numerator=market.numerator,
            market_price_denominator=market.denominator,
            rate_idr_per_pi=str(rate.idr_per_pi),
            rate_source=rate.source,
            created_at=now,
            expires_at=now + timedelta(seconds=self.settings.ttl_seconds),
        )
        return repository.add(session, quote)

    def get(self, session: Session, quote_id: uuid.UUID) -> Quote:
        """The quote with ``quote_id``.

        Raises:
            QuoteNotFoundError: none.
        """
        quote = repository.get(session, quote_id)
        if quote is None:
            raise QuoteNotFoundError(quote_id)
        return quote

    def use(self, session: Session, quote_id: uuid.UUID, payment_id: uuid.UUID) -> Quote:
        """Hands the quote to ``payment_id``, in the caller's transaction.

        Raises:
            QuoteNotFoundError: no such quote.
            QuoteExpiredError: it expired before now.
            QuoteAlreadyUsedError: another payment took it first.
        """
        now = self.clock()
        if repository.mark_used(session, quote_id, payment_id, now):
            return self._fresh(session, quote_id)
        quote = self._fresh(session, quote_id)
        if quote.payment_id is not None:
            raise QuoteAlreadyUsedError(quote_id, quote.payment_id)
        raise QuoteExpiredError(quote_id, quote.expires_at, now)

    def _fresh(self, session: Session, quote_id: uuid.UUID) -> Quote:
        quote = repository.get(session, quote_id, fresh=True)
        if quote is None:
            raise QuoteNotFoundError(quote_id)
        return quote


def _pair(sell_asset: str, buy_asset: str) -> tuple[Asset, Asset]:
    try:
        pair = (Asset(sell_asset), Asset(buy_asset))
    except ValueError:
        pair = None
    if pair is None or pair not in SUPPORTED_PAIRS:
        supported = ", ".join(f"{s} -> {b}" for s, b in sorted(SUPPORTED_PAIRS))
        raise ValidationError(
            f"cannot quote {sell_asset!r} -> {buy_asset!r}; supported: {supported}",
            sell_asset=sell_asset,
            buy_asset=buy_asset,
        )
    return pair
