"""Reads stored LPUI rows for the API, the explorer page and its CSV (never recomputes)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from city.kelurahan import BY_CODE
from city.lpui.compute import check_range
from city.lpui.models import LpuiDaily


@dataclass(frozen=True)
class LpuiRow:
    """One stored row, with the kelurahan's name and kecamatan (empty for ``unknown``)."""

    kelurahan_code: str
    kelurahan: str
    kecamatan: str
    day: date
    window_days: int
    tx_count: int
    tx_value_sen: int
    avg_count_milli: int
    avg_value_sen: int
    index_bp: int | None

    def as_json(self) -> dict[str, object]:
        """Exact integers; the day as ISO 8601."""
        return {
            "kelurahan_code": self.kelurahan_code,
            "kelurahan": self.kelurahan,
            "kecamatan": self.kecamatan,
            "day": self.day.isoformat(),
            "window_days": self.window_days,
            "tx_count": self.tx_count,
            "tx_value_sen": self.tx_value_sen,
            "avg_count_milli": self.avg_count_milli,
            "avg_value_sen": self.avg_value_sen,
            "index_bp": self.index_bp,
        }


def _row(r: LpuiDaily) -> LpuiRow:
    place = BY_CODE.get(r.kelurahan_code)
    return LpuiRow(
        kelurahan_code=r.kelurahan_code,
        kelurahan=place.name if place else r.kelurahan_code,
        kecamatan=place.kecamatan if place else "",
        day=r.day,
        window_days=r.window_days,
        tx_count=r.tx_count,
        tx_value_sen=r.tx_value_sen,
        avg_count_milli=r.avg_count_milli,
        avg_value_sen=r.avg_value_sen,
        index_bp=r.index_bp,
    )


def rows_between(session: Session, first: date, last: date) -> list[LpuiRow]:
    """Stored rows of ``first`` .. ``last``, by day then kelurahan code."""
    check_range(first, last)
    found = session.scalars(
        select(LpuiDaily)
        .where(LpuiDaily.day >= first, LpuiDaily.day <= last)
        .order_by(LpuiDaily.day, LpuiDaily.kelurahan_code)
    )
    return [_row(r) for r in found]


def ranking(session: Session, day: date) -> list[LpuiRow]:
    """The 27 kelurahan's rows of ``day``, highest index first (ties by code)."""
    found = session.scalars(
        select(LpuiDaily)
        .where(LpuiDaily.day == day, LpuiDaily.index_bp.is_not(None))
        .order_by(LpuiDaily.index_bp.desc(), LpuiDaily.kelurahan_code)
    )
    return [_row(r) for r in found]


def latest_day(session: Session) -> date | None:
    """The latest day with stored rows."""
    return session.scalar(select(func.max(LpuiDaily.day)))
