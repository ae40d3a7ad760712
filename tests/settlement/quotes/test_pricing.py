"""Quote arithmetic: SEP-38's identity holds exactly and rounding always favours the platform."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from common.errors import ValidationError
from settlement.pi.amounts import MAX_MINOR
from settlement.quotes import pricing
from settlement.quotes.pricing import FeeSchedule, invariant_holds

rates = st.decimals(min_value=Decimal("0.0001"), max_value=Decimal("10000000"), places=4)
fees = st.builds(FeeSchedule, st.integers(0, 3000), st.integers(0, 10**6))


def test_market_price_is_pi_minor_units_per_sen():
    # 15,000 IDR per Pi: 1 sen buys 10^7 / 1.5e6 minor units.
    assert pricing.market_price(Decimal("15000")) == Fraction(10**7, 1_500_000)


def test_sell_quote_example_rounds_buy_amount_down():
    market = pricing.market_price(Decimal("15000"))
    conversion = pricing.for_sell_amount(123_456_789, market, FeeSchedule(service_bps=100, network_minor=100))
    # fee = ceil(1% of 123_456_789) + 100 network; 122_222_121 minor units left are worth
    # 18_333_318.15 sen at 20/3 minor units per sen: 18_333_318 sen, the 1 minor unit left over
    # stays with the platform, inside the price.
    assert conversion.fee_total == 1_234_668
    assert conversion.fee_details == (("service", 1_234_568), ("network", 100))
    assert conversion.buy_amount == 18_333_318
    assert conversion.price == Fraction(122_222_121, 18_333_318)
    assert invariant_holds(conversion)
    assert conversion.price > market


@settings(max_examples=300, deadline=None)
@given(sell=st.integers(1, MAX_MINOR), rate=rates, fees=fees)
def test_sell_quote_invariant_and_rounding(sell, rate, fees):
    market = pricing.market_price(rate)
    try:
        c = pricing.for_sell_amount(sell, market, fees)
    except ValidationError:
        # Only refused when the fee eats the amount, it buys less than one sen, or too many sen.
        net = sell - fees.total(sell)
        assert net <= 0 or net < market or net / market > pricing.MAX_SEN
        return
    assert c.sell_amount == sell
    assert c.fee_total == sum(amount for _, amount in c.fee_details) == fees.total(sell)
    assert (c.sell_amount - c.fee_total) * c.price.denominator == c.price.numerator * c.buy_amount
    assert c.total_price == Fraction(c.sell_amount, c.buy_amount)
    # Rounded down: never more sen than the Pi is worth, and less than one sen short.
    leftover = (c.sell_amount - c.fee_total) - market * c.buy_amount
    assert 0 <= leftover < market


@settings(max_examples=300, deadline=None)
@given(buy=st.integers(1, 10**13), rate=rates, fees=fees)
def test_buy_quote_invariant_and_rounding(buy, rate, fees):
    market = pricing.market_price(rate)
    try:
        c = pricing.for_buy_amount(buy, market, fees)
    except ValidationError:
        assert market * buy > MAX_MINOR // 2
        return
    assert c.buy_amount == buy
    assert invariant_holds(c)
    assert c.fee_total == fees.total(c.sell_amount)
    # The Pi kept after the fee covers the sen bought, by less than one minor unit too much.
    leftover = (c.sell_amount - c.fee_total) - market * buy
    assert 0 <= leftover < 1
    # And it is the smallest such sell amount.
    smaller = c.sell_amount - 1
    assert smaller - fees.total(smaller) < c.sell_amount - c.fee_total


@pytest.mark.parametrize(
    ("sell", "message"),
    [
        (0, "must be positive"),
        (-5, "must be positive"),
        (100, "does not cover the fee"),
        (MAX_MINOR + 1, "larger"),
    ],
)
def test_sell_quote_refuses_bad_amounts(sell, message):
    with pytest.raises(ValidationError, match=message):
        pricing.for_sell_amount(sell, pricing.market_price(Decimal("15000")), FeeSchedule(100, 100))


def test_sell_quote_refuses_amount_buying_less_than_a_sen():
    with pytest.raises(ValidationError, match="less than one sen"):
        pricing.for_sell_amount(105, pricing.market_price(Decimal("15000")), FeeSchedule(0, 100))


@pytest.mark.parametrize("bad", [True, 1.5, "10"])
def test_amounts_must_be_integers(bad):
    with pytest.raises(ValidationError, match="integer"):
        pricing.for_buy_amount(bad, Fraction(1), FeeSchedule())


@pytest.mark.parametrize("rate", [Decimal(0), Decimal(-1), Decimal("NaN"), Decimal("Infinity")])
def test_market_price_refuses_bad_rates(rate):
    with pytest.raises(ValidationError, match="positive decimal"):
        pricing.market_price(rate)


def test_fee_schedule_refuses_out_of_range_values():
    with pytest.raises(ValidationError, match="basis points"):
        FeeSchedule(service_bps=10_000)
    with pytest.raises(ValidationError, match="negative"):
        FeeSchedule(network_minor=-1)
