"""The LDCI (a merchant's credit-health score, 0..1000) from its daily history: pure and exact.

Why pure: the same inputs always give the same score, on any machine, so a lender can recompute
what it was shown; the books are read elsewhere (:mod:`city.credit.inputs`). Why exact: every
figure is an integer or a :class:`~fractions.Fraction` (no float anywhere), so the property
tests hold exactly and the stored components read back identically.

The formula (version :data:`FORMULA_VERSION`, documented with its reasons in
``city/credit/README.md``): seven components, each a value in [0, 1] and a weight in basis
points (the weights sum to 10,000); the score is ``round_half_up(1000 * sum(w * v) / sum(w))``
over the components that could be measured (customer diversity is not measured when no payment
of the window has a known payer). A merchant with no settled payment in the window has no score
(``None``), never 0.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from fractions import Fraction
from math import isqrt

from common.errors import ValidationError

FORMULA_VERSION = "ldci-1"
"""Stored with every score; a change of any constant below is a new version."""

WINDOW_DAYS = 90
"""The history the daily computation reads: the 90 Asia/Jakarta days ending on the day scored."""

WEIGHTS_BP: dict[str, int] = {
    "volume": 2000,
    "trend": 1500,
    "stability": 2000,
    "active_days": 1500,
    "customer_diversity": 1000,
    "refunds_disputes": 1000,
    "tenure": 1000,
}
"""Each component's weight in basis points (sum 10,000), in the order the report shows them."""

VOLUME_FLOOR_SEN = 10_000_000
"""Rp 100.000 a month: at or below it, volume scores 0."""
VOLUME_REFERENCE_SEN = 5_000_000_000
"""Rp 50.000.000 a month: at or above it, volume scores 1 (a large UMKM's month)."""
TREND_GAIN = Fraction(5, 2)
"""Weekly growth of 20% of the mean week maps to 1 (and -20% to 0): ``1/2 + 5/2 * slope/mean``."""
REFUND_PENALTY = 5
"""``1 - 5 * (refunds + 2 * disputes) / payments``: a 20% refund rate scores 0."""
DISPUTE_MULTIPLIER = 2
"""A dispute counts as two refunds: the customer had to ask the arbiter."""
TENURE_REFERENCE_DAYS = 365
"""A year of trading on the platform scores tenure 1."""
DAYS_PER_MONTH = 30


class InvalidLdciInputsError(ValidationError):
    """The history cannot be scored as given (inconsistent counts and values, negative figures)."""

    code = "invalid_ldci_inputs"


@dataclass(frozen=True)
class DayFigures:
    """Settled payments of one Asia/Jakarta day: how many, and their value in sen."""

    count: int
    value_sen: int


@dataclass(frozen=True)
class LdciInputs:
    """What the score is computed from: a merchant's history over the window ending on ``as_of``.

    Attributes:
        as_of: The day scored (the window's last day).
        days: One entry per window day, oldest first (the last one is ``as_of``).
        payer_counts: Settled payments per distinct payer, or None when no payment has a known payer.
        refunds: Merchant refunds (not failed) of the window's payments.
        disputes: Escrow disputes (open or decided) of the window's payments.
        first_settled: The day of the merchant's first settled payment ever, None if none.
    """

    as_of: date
    days: tuple[DayFigures, ...]
    payer_counts: tuple[int, ...] | None = None
    refunds: int = 0
    disputes: int = 0
    first_settled: date | None = None

    def __post_init__(self) -> None:
        if len(self.days) < 7:
            raise InvalidLdciInputsError("the history needs at least 7 days")
        for d in self.days:
            if d.count < 0 or d.value_sen < 0 or (d.count == 0) != (d.value_sen == 0):
                raise InvalidLdciInputsError(f"a day of {d.count} payments cannot be worth {d.value_sen} sen")
        if self.refunds < 0 or self.disputes < 0:
            raise InvalidLdciInputsError("refunds and disputes cannot be negative")
        if self.payer_counts is not None and any(n <= 0 for n in self.payer_counts):
            raise InvalidLdciInputsError("each payer has at least one payment")
        if self.first_settled is not None and self.first_settled > self.as_of:
            raise InvalidLdciInputsError("the first settled payment is after the day scored")

    @property
    def payments(self) -> int:
        """Settled payments in the window."""
        return sum(d.count for d in self.days)

    @property
    def value_sen(self) -> int:
        """Their value in sen."""
        return sum(d.value_sen for d in self.days)


@dataclass(frozen=True)
class Component:
    """One part of the score: its value in [0, 1] (None: not measured), weight and raw inputs."""

    name: str
    value: Fraction | None
    weight_bp: int
    inputs: dict[str, int] = field(default_factory=dict)

    @property
    def value_bp(self) -> int | None:
        """The value in basis points, rounded half up (for display; the score uses the fraction)."""
        return None if self.value is None else round_half_up(self.value * 10_000)


@dataclass(frozen=True)
class LdciScore:
    """A merchant's LDCI on ``as_of``: the score 0..1000 and every component it came from."""

    as_of: date
    score: int
    components: tuple[Component, ...]
    formula_version: str = FORMULA_VERSION


def round_half_up(value: Fraction) -> int:
    """The nearest integer to a non-negative fraction, halves rounded up."""
    return int((value * 2 + 1) // 2)


def clip(value: Fraction) -> Fraction:
    """``value`` bounded to [0, 1]."""
    return min(Fraction(1), max(Fraction(0), value))


def piecewise_log2(x: Fraction) -> Fraction:
    """log2 for ``x >= 1`` drawn as straight lines between powers of two: ``k + x / 2**k - 1``
    where ``2**k <= x < 2**(k+1)``. Exact, increasing, equal to log2 at every power of two and
    never more than 0.086 below it."""
    if x < 1:
        raise InvalidLdciInputsError("piecewise_log2 is defined from 1")
    k = (x.numerator // x.denominator).bit_length() - 1
    return k + x / (1 << k) - 1


def volume(inputs: LdciInputs) -> Component:
    """Monthly value on a log scale between :data:`VOLUME_FLOOR_SEN` and the reference."""
    monthly = Fraction(inputs.value_sen * DAYS_PER_MONTH, len(inputs.days))
    if monthly <= VOLUME_FLOOR_SEN:
        value = Fraction(0)
    else:
        span = piecewise_log2(Fraction(VOLUME_REFERENCE_SEN, VOLUME_FLOOR_SEN))
        value = clip(piecewise_log2(monthly / VOLUME_FLOOR_SEN) / span)
    raw = {"monthly_value_sen": round_half_up(monthly), "window_value_sen": inputs.value_sen}
    return Component("volume", value, WEIGHTS_BP["volume"], raw)


def weekly_values(inputs: LdciInputs) -> list[int]:
    """Value of each full week counted back from ``as_of`` that starts on or after the first
    settled payment (oldest first): weeks before the merchant traded are not a trend, and a
    leftover part-week at the window's start is left out."""
    weeks = len(inputs.days) // 7
    start = len(inputs.days) - weeks * 7
    values = []
    for i in range(weeks):
        first_day = inputs.as_of - timedelta(days=len(inputs.days) - 1 - (start + i * 7))
        if inputs.first_settled is None or first_day >= inputs.first_settled:
            values.append(sum(d.value_sen for d in inputs.days[start + i * 7 : start + i * 7 + 7]))
    return values


def trend(inputs: LdciInputs) -> Component:
    """The least-squares slope of weekly value, relative to the mean week: flat is 1/2, and so is
    a history of fewer than two weeks (no trend to see yet)."""
    weeks = weekly_values(inputs)
    n = len(weeks)
    mean = Fraction(sum(weeks), n) if n else Fraction(0)
    centre = Fraction(n - 1, 2)
    spread = sum(((i - centre) ** 2 for i in range(n)), Fraction(0))
    slope = Fraction(0)
    if n >= 2:
        slope = sum(((i - centre) * (w - mean) for i, w in enumerate(weeks)), Fraction(0)) / spread
    value = Fraction(1, 2) if mean == 0 else clip(Fraction(1, 2) + TREND_GAIN * slope / mean)
    raw = {
        "weeks": n,
        "first_week_value_sen": weeks[0] if weeks else 0,
        "last_week_value_sen": weeks[-1] if weeks else 0,
        "slope_per_week_sen": round_half_up(abs(slope)) * (1 if slope >= 0 else -1),
    }
    return Component("trend", value, WEIGHTS_BP["trend"], raw)


def stability(inputs: LdciInputs) -> Component:
    """``1 - CV`` of daily value (all window days, clipped at 0); CV in whole basis points,
    rounded down, so that the square root stays in integers."""
    values = [d.value_sen for d in inputs.days]
    n = len(values)
    mean = Fraction(sum(values), n)
    if mean == 0:
        cv_bp = 10_000
    else:
        variance = sum(((v - mean) ** 2 for v in values), Fraction(0)) / n
        squared = variance / (mean * mean) * 10_000**2
        cv_bp = isqrt(squared.numerator // squared.denominator)
    value = 1 - Fraction(min(cv_bp, 10_000), 10_000)
    raw = {"coefficient_of_variation_bp": cv_bp, "mean_daily_value_sen": round_half_up(mean)}
    return Component("stability", value, WEIGHTS_BP["stability"], raw)


def active_days(inputs: LdciInputs) -> Component:
    """The share of window days with at least one settled payment."""
    active = sum(1 for d in inputs.days if d.count > 0)
    raw = {"active_days": active, "window_days": len(inputs.days)}
    return Component("active_days", Fraction(active, len(inputs.days)), WEIGHTS_BP["active_days"], raw)


def customer_diversity(inputs: LdciInputs) -> Component:
    """``1 - HHI`` of payers' shares of the payments; not measured without payers."""
    if inputs.payer_counts is None or not inputs.payer_counts:
        return Component("customer_diversity", None, WEIGHTS_BP["customer_diversity"], {"payers": 0})
    total = sum(inputs.payer_counts)
    hhi = sum((Fraction(n, total) ** 2 for n in inputs.payer_counts), Fraction(0))
    raw = {"payers": len(inputs.payer_counts), "hhi_bp": round_half_up(hhi * 10_000)}
    return Component("customer_diversity", 1 - hhi, WEIGHTS_BP["customer_diversity"], raw)


def refunds_disputes(inputs: LdciInputs) -> Component:
    """``1 - 5 * (refunds + 2 * disputes) / payments``, clipped to [0, 1]."""
    weighted = inputs.refunds + DISPUTE_MULTIPLIER * inputs.disputes
    value = clip(1 - Fraction(REFUND_PENALTY * weighted, max(inputs.payments, 1)))
    raw = {"refunds": inputs.refunds, "disputes": inputs.disputes, "payments": inputs.payments}
    return Component("refunds_disputes", value, WEIGHTS_BP["refunds_disputes"], raw)


def tenure(inputs: LdciInputs) -> Component:
    """Days on the platform since the first settled payment (inclusive) against a year."""
    first = inputs.first_settled
    days_on = 0 if first is None else (inputs.as_of - first).days + 1
    value = clip(Fraction(days_on, TENURE_REFERENCE_DAYS))
    return Component("tenure", value, WEIGHTS_BP["tenure"], {"days_since_first_sale": days_on})


def score(inputs: LdciInputs) -> LdciScore | None:
    """The LDCI of ``inputs``, or None when the window holds no settled payment (no history is
    no score, not a score of 0)."""
    if inputs.payments == 0:
        return None
    components = (
        volume(inputs),
        trend(inputs),
        stability(inputs),
        active_days(inputs),
        customer_diversity(inputs),
        refunds_disputes(inputs),
        tenure(inputs),
    )
    return LdciScore(inputs.as_of, total(components), components)


def total(components: tuple[Component, ...]) -> int:
    """``round_half_up(1000 * sum(w * v) / sum(w))`` over the measured components."""
    measured = [c for c in components if c.value is not None]
    weight = sum(c.weight_bp for c in measured)
    weighted = sum((c.weight_bp * c.value for c in measured if c.value is not None), Fraction(0))
    return round_half_up(1000 * weighted / weight)
