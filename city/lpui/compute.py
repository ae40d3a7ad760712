"""Computes and stores the LPUI for a range of days, from the settlement books and the chain mirror.

What is counted, on its Asia/Jakarta day, with its Rupiah value in sen:

* a Pi payment, once, on the day it became ``completed`` (MSC minted into the merchant escrow:
  the settled state; the time is its ``payment_status_history`` move to ``completed``), with its
  ``idr_amount``; payments that expired, were refunded before settling or are in error never
  count. Its later release from the escrow to the merchant is the same sale and is not counted
  again;
* an MSC payment: an MSC ``Transfer`` in the chain mirror to a merchant's registered wallet
  (``merchants.evm_address``), on its block's day, with its value (1 MSC unit = 1 sen); mints,
  escrow releases and other transfers from the platform's contracts, and transfers to oneself
  are not payments (:mod:`city.mirror_payments`).

A sale's kelurahan is its merchant's: its ``kelurahan_code``, or for a row without one its
``kelurahan`` looked up with :func:`city.kelurahan.lookup`; a merchant whose kelurahan is unknown
counts under ``unknown`` (stored and shown, never dropped).

The arithmetic is exact (:class:`fractions.Fraction`): for kelurahan ``k`` on day ``d``,
``c_k`` and ``v_k`` are the window's total count and value divided by ``window_days``; across
ALL 27 kelurahan (a kelurahan without payments has 0), ``nc_k = (c_k - min c) / (max c - min c)``
and likewise ``nv_k``, and a component whose values are all equal normalises to 0 for everyone
(nobody stands out); ``LPUI_k = w_count * nc_k + w_value * nv_k`` in [0, 1], stored as
``round_half_up(LPUI_k * 10000)`` basis points.

Recomputing a range replaces its rows in one transaction (delete, then insert), so running it
twice, or after a crash, leaves exactly one row per kelurahan and day."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from fractions import Fraction
from zoneinfo import ZoneInfo

from sqlalchemy import String, Uuid, column, delete, select, table
from sqlalchemy.orm import Session

from city.kelurahan import KELURAHAN, UnknownKelurahanError, lookup
from city.lpui.models import UNKNOWN_CODE, LpuiDaily
from city.lpui.settings import LpuiSettings
from city.mirror_payments import msc_payments
from common.errors import ValidationError
from common.sql.helpers import utcnow
from settlement.payments.models import Payment, PaymentStatus, PaymentStatusChange

JAKARTA = ZoneInfo("Asia/Jakarta")
MAX_RANGE_DAYS = 3660
"""The longest range one call computes (about ten years)."""

_merchants = table(
    "merchants",
    column("id", Uuid),
    column("kelurahan", String),
    column("kelurahan_code", String),
    column("evm_address", String),
)
"""The merchants' table as the books see it (``city`` does not import the web app's models)."""


class InvalidRangeError(ValidationError):
    """The day range is empty, reversed or too long."""

    code = "invalid_day_range"


@dataclass(frozen=True)
class DayFigures:
    """One kelurahan's figures on one day (what a ``lpui_daily`` row holds)."""

    kelurahan_code: str
    day: date
    tx_count: int
    tx_value_sen: int
    avg_count_milli: int
    avg_value_sen: int
    index_bp: int | None


def round_half_up(value: Fraction) -> int:
    """The nearest integer to a non-negative fraction, halves rounded up."""
    return int((value * 2 + 1) // 2)


def jakarta_day(moment: datetime) -> date:
    """The Asia/Jakarta calendar day of a UTC moment."""
    return moment.astimezone(JAKARTA).date()


def day_start_utc(day: date) -> datetime:
    """00:00 Asia/Jakarta of ``day``, in UTC."""
    return datetime.combine(day, time(0), tzinfo=JAKARTA).astimezone(UTC)


def days(first: date, last: date) -> list[date]:
    """``first`` .. ``last`` inclusive."""
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


def check_range(first: date, last: date) -> None:
    """Refuses a reversed or too long range."""
    if last < first:
        raise InvalidRangeError(f"the range ends ({last}) before it starts ({first})")
    if (last - first).days + 1 > MAX_RANGE_DAYS:
        raise InvalidRangeError(f"a range covers at most {MAX_RANGE_DAYS} days")


def _kelurahan_code(code: str | None, name: str | None) -> str:
    """The merchant's registered ``kelurahan_code``, else its ``kelurahan`` looked up (rows from
    before codes were stored), else ``unknown``."""
    for given in (code, name):
        if given:
            try:
                return lookup(given).code
            except UnknownKelurahanError:
                continue
    return UNKNOWN_CODE


def daily_totals(session: Session, first: date, last: date) -> dict[tuple[str, date], tuple[int, int]]:
    """Settled Pi payments' and MSC payments' (count, value in sen) per (kelurahan code, Jakarta
    day) in the range (see the module for what counts)."""
    merchants = [
        (str(merchant_id), _kelurahan_code(code, kelurahan), address)
        for merchant_id, code, kelurahan, address in session.execute(
            select(
                _merchants.c.id, _merchants.c.kelurahan_code, _merchants.c.kelurahan, _merchants.c.evm_address
            )
        )
    ]
    places = {merchant_id: code for merchant_id, code, _ in merchants}
    wallets = {address.lower(): code for _, code, address in merchants if address}
    totals: dict[tuple[str, date], tuple[int, int]] = defaultdict(lambda: (0, 0))

    def add(code: str, day: date, value: int) -> None:
        count, total = totals[(code, day)]
        totals[(code, day)] = (count + 1, total + value)

    for merchant_id, idr_amount, at in settled_pi_payments(session, first, last):
        add(places.get(str(merchant_id), UNKNOWN_CODE), jakarta_day(at), int(idr_amount))
    end = day_start_utc(last + timedelta(days=1))
    for payment in msc_payments(session, wallets, day_start_utc(first), end):
        add(wallets[payment.wallet], jakarta_day(payment.at), payment.value_sen)
    return dict(totals)


def settled_pi_payments(session: Session, first: date, last: date) -> list[tuple[object, int, datetime]]:
    """(merchant id, Rupiah in sen, settled at) of the Pi payments settled in the range."""
    completed_at = (
        select(PaymentStatusChange.payment_id, PaymentStatusChange.at)
        .where(PaymentStatusChange.to_status == PaymentStatus.COMPLETED.value)
        .subquery()
    )
    rows = session.execute(
        select(Payment.merchant_id, Payment.idr_amount, completed_at.c.at)
        .join(completed_at, completed_at.c.payment_id == Payment.id)
        .where(Payment.status == PaymentStatus.COMPLETED.value)
        .where(completed_at.c.at >= day_start_utc(first))
        .where(completed_at.c.at < day_start_utc(last + timedelta(days=1)))
    ).all()
    return [(merchant_id, int(idr_amount), at) for merchant_id, idr_amount, at in rows]


def _normalised(values: dict[str, Fraction]) -> dict[str, Fraction]:
    low, high = min(values.values()), max(values.values())
    if high == low:
        return {code: Fraction(0) for code in values}
    return {code: (value - low) / (high - low) for code, value in values.items()}


def figures_for(
    totals: dict[tuple[str, date], tuple[int, int]], first: date, last: date, settings: LpuiSettings
) -> list[DayFigures]:
    """Every kelurahan's (and ``unknown``'s, when it has payments) figures for each day in range;
    ``totals`` must cover the window before ``first`` too."""
    window = settings.window_days
    w_count, w_value = Fraction(settings.weight_count), Fraction(settings.weight_value)
    codes = [k.code for k in KELURAHAN]
    result: list[DayFigures] = []
    for day in days(first, last):
        window_days = [day - timedelta(days=n) for n in range(window)]
        sums: dict[str, tuple[int, int]] = {}
        for code in [*codes, UNKNOWN_CODE]:
            pairs = [totals.get((code, d), (0, 0)) for d in window_days]
            sums[code] = (sum(p[0] for p in pairs), sum(p[1] for p in pairs))
        count_norm = _normalised({c: Fraction(sums[c][0], window) for c in codes})
        value_norm = _normalised({c: Fraction(sums[c][1], window) for c in codes})
        for code in [*codes, UNKNOWN_CODE]:
            count, value = sums[code]
            if code == UNKNOWN_CODE and count == 0:
                continue
            index = (
                None
                if code == UNKNOWN_CODE
                else round_half_up((w_count * count_norm[code] + w_value * value_norm[code]) * 10000)
            )
            result.append(
                DayFigures(
                    kelurahan_code=code,
                    day=day,
                    tx_count=count,
                    tx_value_sen=value,
                    avg_count_milli=round_half_up(Fraction(count * 1000, window)),
                    avg_value_sen=round_half_up(Fraction(value, window)),
                    index_bp=index,
                )
            )
    return result


def compute_range(
    session: Session,
    first: date,
    last: date,
    settings: LpuiSettings,
    *,
    now: Callable[[], datetime] = utcnow,
    on_computed: Callable[[Iterable[DayFigures]], None] | None = None,
) -> list[DayFigures]:
    """Recomputes and stores the LPUI of every day in ``first`` .. ``last`` (replacing rows there),
    in the caller's transaction; ``on_computed`` gets the figures (e.g. to update gauges)."""
    check_range(first, last)
    if first - date.min < timedelta(days=settings.window_days):
        raise InvalidRangeError(f"a window of {settings.window_days} days before {first} is not a date")
    totals = daily_totals(session, first - timedelta(days=settings.window_days - 1), last)
    figures = figures_for(totals, first, last, settings)
    session.execute(delete(LpuiDaily).where(LpuiDaily.day >= first, LpuiDaily.day <= last))
    stamp = now()
    weight_count_bp = int(settings.weight_count * 10000)
    weight_value_bp = int(settings.weight_value * 10000)
    session.add_all(
        LpuiDaily(
            kelurahan_code=f.kelurahan_code,
            day=f.day,
            window_days=settings.window_days,
            tx_count=f.tx_count,
            tx_value_sen=f.tx_value_sen,
            avg_count_milli=f.avg_count_milli,
            avg_value_sen=f.avg_value_sen,
            index_bp=f.index_bp,
            weight_count_bp=weight_count_bp,
            weight_value_bp=weight_value_bp,
            computed_at=stamp,
        )
        for f in figures
    )
    session.flush()
    if on_computed is not None:
        on_computed(figures)
    return figures
