"""The "Laporan Kesehatan UMKM" (UMKM health report) a lender reads: who, the last three months of
sales, active days, refunds and disputes, and the LDCI with every component's value and weight.

Built only for a merchant that consents to scoring when the report is asked for; the score is the
one stored for ``as_of`` (``ldci_daily``) when there is one, else computed now from the books the
same way (and not stored: storing is the daily computation's job). Every figure is an exact
integer; :meth:`HealthReport.to_json` gives them as such (sen, counts, basis points, and each
component's value as an exact fraction ``value_num / value_den``).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from city.credit.consent import merchants_consenting_to_scoring
from city.credit.inputs import merchants_table, read_inputs, sales_of
from city.credit.ldci import WINDOW_DAYS, LdciScore, score
from city.credit.ldci_models import stored_row, stored_score
from city.kelurahan import UnknownKelurahanError, lookup
from common.errors import NotFoundError
from common.sql.helpers import utcnow

MONTHS = 3
"""Calendar months of sales the report shows: ``as_of``'s month (to date) and the two before."""


class HealthReportUnavailableError(NotFoundError):
    """There is no health report of the merchant on that day: no score (no settled payment in
    the window), no consent to scoring, or no such merchant."""

    code = "health_report_unavailable"

    def __init__(self, merchant_id: uuid.UUID, as_of: date, why: str) -> None:
        super().__init__(f"no health report of merchant {merchant_id} on {as_of}: {why}")


@dataclass(frozen=True)
class MonthSales:
    """Settled sales of one calendar month (``last`` is ``as_of`` for the month to date)."""

    month: str
    first: date
    last: date
    count: int
    value_sen: int


@dataclass(frozen=True)
class HealthReport:
    """A merchant's health report on ``as_of``."""

    merchant_id: uuid.UUID
    merchant_name: str
    kelurahan: str
    kelurahan_code: str | None
    simulated: bool
    as_of: date
    period_first: date
    period_last: date
    months: tuple[MonthSales, ...]
    active_days: int
    window_days: int
    refunds: int
    disputes: int
    ldci: LdciScore
    score_stored: bool
    generated_at: datetime

    @property
    def formula_version(self) -> str:
        """The LDCI formula the score was made with."""
        return self.ldci.formula_version

    def to_json(self) -> dict[str, Any]:
        """The report as JSON-ready values: exact integers, ISO dates, UTC timestamps."""
        return {
            "merchant_id": str(self.merchant_id),
            "merchant_name": self.merchant_name,
            "kelurahan": self.kelurahan,
            "kelurahan_code": self.kelurahan_code,
            "simulated": self.simulated,
            "as_of": self.as_of.isoformat(),
            "period": {"first": self.period_first.isoformat(), "last": self.period_last.isoformat()},
            "months": [
                {
                    "month": m.month,
                    "first": m.first.isoformat(),
                    "last": m.last.isoformat(),
                    "sales_count": m.count,
                    "sales_value_sen": m.value_sen,
                }
                for m in self.months
            ],
            "active_days": self.active_days,
            "window_days": self.window_days,
            "refunds": self.refunds,
            "disputes": self.disputes,
            "ldci": {
                "score": self.ldci.score,
                "scale_max": 1000,
                "formula_version": self.ldci.formula_version,
                "stored": self.score_stored,
                "components": [
                    {
                        "name": c.name,
                        "weight_bp": c.weight_bp,
                        "value_bp": c.value_bp,
                        "value_num": None if c.value is None else c.value.numerator,
                        "value_den": None if c.value is None else c.value.denominator,
                        "measured": c.value is not None,
                        "inputs": dict(c.inputs),
                    }
                    for c in self.ldci.components
                ],
            },
            "generated_at": self.generated_at.isoformat(),
        }


def month_starts(as_of: date, months: int = MONTHS) -> list[date]:
    """The first days of the ``months`` calendar months ending with ``as_of``'s, oldest first."""
    starts = [as_of.replace(day=1)]
    for _ in range(months - 1):
        starts.insert(0, (starts[0] - timedelta(days=1)).replace(day=1))
    return starts


def _kelurahan(code: str | None, name: str | None) -> tuple[str, str | None]:
    for given in (code, name):
        if given:
            try:
                found = lookup(given)
                return found.name, found.code
            except UnknownKelurahanError:
                continue
    return name or "", None


def build_health_report(
    session: Session,
    merchant_id: uuid.UUID,
    as_of: date,
    *,
    now: Callable[[], datetime] = utcnow,
) -> HealthReport:
    """The merchant's health report on ``as_of`` (an Asia/Jakarta day).

    Raises:
        HealthReportUnavailableError: no such merchant, no consent to scoring now, or no score
            (no settled payment in the 90 days ending on ``as_of``).
    """
    generated_at = now()
    merchant = session.execute(
        select(
            merchants_table.c.name,
            merchants_table.c.kelurahan,
            merchants_table.c.kelurahan_code,
            merchants_table.c.simulated,
        ).where(merchants_table.c.id == merchant_id)
    ).one_or_none()
    if merchant is None:
        raise HealthReportUnavailableError(merchant_id, as_of, "no such merchant")
    if merchant_id not in merchants_consenting_to_scoring(session, generated_at):
        raise HealthReportUnavailableError(merchant_id, as_of, "the merchant does not consent to scoring")
    inputs = read_inputs(session, merchant_id, as_of)
    row = stored_row(session, merchant_id, as_of)
    ldci = stored_score(row) if row is not None else score(inputs)
    if ldci is None:
        raise HealthReportUnavailableError(merchant_id, as_of, "no settled payment in the 90 days before")
    starts = month_starts(as_of)
    sales = sales_of(session, merchant_id, starts[0], as_of)
    months = []
    for i, first in enumerate(starts):
        last = as_of if i == len(starts) - 1 else starts[i + 1] - timedelta(days=1)
        inside = [p for p in sales if first <= p.day <= last]
        months.append(
            MonthSales(first.strftime("%Y-%m"), first, last, len(inside), sum(p.value_sen for p in inside))
        )
    name, code = _kelurahan(merchant.kelurahan_code, merchant.kelurahan)
    return HealthReport(
        merchant_id=merchant_id,
        merchant_name=merchant.name,
        kelurahan=name,
        kelurahan_code=code,
        simulated=bool(merchant.simulated),
        as_of=as_of,
        period_first=as_of - timedelta(days=WINDOW_DAYS - 1),
        period_last=as_of,
        months=tuple(months),
        active_days=sum(1 for d in inputs.days if d.count > 0),
        window_days=len(inputs.days),
        refunds=inputs.refunds,
        disputes=inputs.disputes,
        ldci=ldci,
        score_stored=row is not None,
        generated_at=generated_at,
    )
