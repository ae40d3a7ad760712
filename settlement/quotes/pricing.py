"""Exact quote arithmetic: how many sen a Pi amount buys at a price, and the fee taken.

Units: ``sell_amount`` and every fee are integers of Pi minor units (10^-7 Pi); ``buy_amount``
is integer sen (1 MSC unit). A price is a :class:`fractions.Fraction` of **Pi minor units per
sen**, like SEP-38's ``price`` ("units of sell asset per unit of buy asset"), so nothing is
ever a float or a rounded decimal.

The rounding rule:

1. The market price ``M`` comes from the rate source: ``M = 10^5 / idr_per_pi`` (10^7 minor units
   per Pi over 100 sen per Rupiah), exact.
2. The fee is in Pi (``fee.asset == sell_asset``, as SEP-38 allows): a service fee of
   ``fee_bps`` of ``sell_amount`` rounded UP to a whole minor unit, plus a fixed network fee.
3. Sell-side quote (``sell_amount`` given): ``buy_amount = floor((sell_amount - fee) / M)`` —
   rounded DOWN, so the platform never pays out more sen than the Pi it received is worth.
4. Buy-side quote (``buy_amount`` given): the Pi needed is ``ceil(M * buy_amount)`` — rounded UP —
   and ``sell_amount`` is the smallest amount that leaves exactly that much after the fee.
5. The quote's ``price`` is then, exactly, ``(sell_amount - fee) / buy_amount`` in lowest terms, so
   SEP-38's identity ``sell_amount - fee = price * buy_amount`` holds exactly; in integers:
   ``(sell_amount - fee) * price.denominator == price.numerator * buy_amount``. The sub-sen
   remainder of rounding stays in the price, on the platform's side:
   ``M <= price`` and ``(price - M) * buy_amount < M`` (less than one sen's worth of Pi; for
   buy-side quotes less than one minor unit).
6. ``total_price = sell_amount / buy_amount`` (price including the fee), also exact.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction

from common.errors import ValidationError
from settlement.pi.amounts import MAX_MINOR

BPS = 10_000
# 10^7 Pi minor units per Pi / 100 sen per Rupiah.
MINOR_PER_PI_PER_SEN_PER_IDR = 10**5
MAX_SEN = 2**63 - 1


@dataclass(frozen=True, slots=True)
class FeeSchedule:
    """What the platform charges for a conversion, in Pi.

    Attributes:
        service_bps: Service fee in basis points of ``sell_amount`` (rounded up), 0 <= bps < 10000.
        network_minor: Fixed fee in Pi minor units (the Pi network's transaction fee), >= 0.
    """

    service_bps: int = 0
    network_minor: int = 0

    def __post_init__(self) -> None:
        if not 0 <= self.service_bps < BPS:
            raise ValidationError(f"a service fee must be 0 to 9999 basis points, got {self.service_bps}")
        if self.network_minor < 0:
            raise ValidationError(f"a network fee cannot be negative, got {self.network_minor}")

    def service_fee(self, sell_amount: int) -> int:
        """``ceil(sell_amount * bps / 10000)``: the service fee on ``sell_amount``."""
        return -(-sell_amount * self.service_bps // BPS)

    def details(self, sell_amount: int) -> list[tuple[str, int]]:
        """The itemised fee on ``sell_amount``: ``(name, minor units)``; zero items left out."""
        items = [("service", self.service_fee(sell_amount)), ("network", self.network_minor)]
        return [(name, amount) for name, amount in items if amount > 0]

    def total(self, sell_amount: int) -> int:
        """Total fee on ``sell_amount`` in Pi minor units."""
        return self.service_fee(sell_amount) + self.network_minor


@dataclass(frozen=True, slots=True)
class Conversion:
    """The exact numbers of a quote."""

    sell_amount: int
    buy_amount: int
    fee_total: int
    fee_details: tuple[tuple[str, int], ...]
    price: Fraction
    market_price: Fraction

    @property
    def total_price(self) -> Fraction:
        """Pi minor units paid per sen received, fee included."""
        return Fraction(self.sell_amount, self.buy_amount)


def market_price(idr_per_pi: Decimal) -> Fraction:
    """Pi minor units per sen at a rate of ``idr_per_pi`` Rupiah per Pi, exactly.

    Raises:
        ValidationError: the rate is not a positive finite number.
    """
    if not isinstance(idr_per_pi, Decimal) or not idr_per_pi.is_finite() or idr_per_pi <= 0:
        raise ValidationError(f"a rate must be a positive decimal number of IDR per Pi, got {idr_per_pi!r}")
    return Fraction(MINOR_PER_PI_PER_SEN_PER_IDR) / Fraction(idr_per_pi)


def for_sell_amount(sell_amount: int, market: Fraction, fees: FeeSchedule) -> Conversion:
    """The quote selling exactly ``sell_amount`` Pi minor units.

    Raises:
        ValidationError: the amount is out of range, the fee eats it, or it buys less than one sen.
    """
    _check_range("sell_amount", sell_amount, MAX_MINOR)
    fee = fees.total(sell_amount)
    net = sell_amount - fee
    if net <= 0:
        raise ValidationError(
            f"sell_amount {sell_amount} Pi minor units does not cover the fee of {fee}",
            sell_amount=sell_amount,
            fee=fee,
        )
    buy_amount = net * market.denominator // market.numerator  # floor: never pay out more
    if buy_amount < 1:
        raise ValidationError(
            f"sell_amount {sell_amount} Pi minor units buys less than one sen after the fee of {fee}",
            sell_amount=sell_amount,
        )
    _check_range("buy_amount", buy_amount, MAX_SEN)
    return Conversion(
        sell_amount=sell_amount,
        buy_amount=buy_amount,
        fee_total=fee,
        fee_details=tuple(fees.details(sell_amount)),
        price=Fraction(net, buy_amount),
        market_price=market,
    )


def for_buy_amount(buy_amount: int, market: Fraction, fees: FeeSchedule) -> Conversion:
    """The quote buying exactly ``buy_amount`` sen.

    Raises:
        ValidationError: the amount is out of range or needs more Pi than can exist.
    """
    _check_range("buy_amount", buy_amount, MAX_SEN)
    net = -(-buy_amount * market.numerator // market.denominator)  # ceil: receive at least enough
    sell_amount = _smallest_sell_leaving(net, fees)
    if sell_amount > MAX_MINOR:
        raise ValidationError(
            f"buy_amount {buy_amount} sen needs more Pi than one payment can carry", buy_amount=buy_amount
        )
    fee = fees.total(sell_amount)
    return Conversion(
        sell_amount=sell_amount,
        buy_amount=buy_amount,
        fee_total=fee,
        fee_details=tuple(fees.details(sell_amount)),
        price=Fraction(sell_amount - fee, buy_amount),
        market_price=market,
    )


def _smallest_sell_leaving(net: int, fees: FeeSchedule) -> int:
    """Smallest ``s`` with ``s - fee(s) >= net``; then ``s - fee(s) == net`` exactly.

    ``s - fee(s)`` never decreases and grows by at most one per step of ``s`` (bps < 10000), so the
    first ``s`` reaching ``net`` lands on it. The closed-form estimate is off by at most a unit or two.
    """
    gross = net + fees.network_minor
    guess = max(gross, -(-gross * BPS // (BPS - fees.service_bps)))
    while guess - fees.total(guess) < net:
        guess += 1
    while guess > 1 and (guess - 1) - fees.total(guess - 1) >= net:
        guess -= 1
    return guess


def _check_range(name: str, value: int, maximum: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValidationError(f"{name} must be an integer of minor units, got {value!r}", field=name)
    if value <= 0:
        raise ValidationError(f"{name} must be positive, got {value}", field=name)
    if value > maximum:
        raise ValidationError(f"{name} {value} is larger than {maximum}", field=name)


def invariant_holds(conversion: Conversion) -> bool:
    """SEP-38's ``sell_amount - fee == price * buy_amount``, checked in integers."""
    price = conversion.price
    return (conversion.sell_amount - conversion.fee_total) * price.denominator == (
        price.numerator * conversion.buy_amount
    )
