"""Report periods in the merchant's time: days and months of Asia/Jakarta (WIB, UTC+7).

A stall's day ends at midnight in Madiun, not in UTC: a sale at 23:30 WIB belongs to that day's
sales, although it is 16:30 UTC. Periods are half-open ``[start, end)`` in aware UTC datetimes, the
form the ledger's ``posted_at`` is compared with.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from merchant_reports.errors import ReportPeriodError

JAKARTA = ZoneInfo("Asia/Jakarta")
"""The merchants' time zone (WIB)."""
MAX_RANGE_DAYS = 366
"""Longest payments export (a year): bounds the work one request can ask for."""
_MONTH = re.compile(r"^([0-9]{4})-([0-9]{2})$")


def local_day(moment: datetime) -> date:
    """The Jakarta calendar day of an aware ``moment``."""
    return moment.astimezone(JAKARTA).date()


def day_start(day: date) -> datetime:
    """Midnight at the start of ``day`` in Jakarta, as UTC."""
    return datetime.combine(day, time(0), tzinfo=JAKARTA).astimezone(UTC)


@dataclass(frozen=True, slots=True)
class Month:
    """A calendar month in Jakarta."""

    year: int
    month: int

    @classmethod
    def parse(cls, text: str) -> Month:
        """``yyyy-mm`` as a month.

        Raises:
            ReportPeriodError: not ``yyyy-mm`` or not a month between 2000 and 9999.
        """
        match = _MONTH.fullmatch(text)
        if match is None or not 1 <= int(match.group(2)) <= 12 or int(match.group(1)) < 2000:
            raise ReportPeriodError(f"{text!r} is not a month written yyyy-mm")
        return cls(int(match.group(1)), int(match.group(2)))

    @classmethod
    def of(cls, moment: datetime) -> Month:
        """The Jakarta month ``moment`` falls in."""
        day = local_day(moment)
        return cls(day.year, day.month)

    @property
    def first_day(self) -> date:
        """The month's first day."""
        return date(self.year, self.month, 1)

    @property
    def next_first_day(self) -> date:
        """The first day of the following month."""
        return date(self.year + self.month // 12, self.month % 12 + 1, 1)

    @property
    def days(self) -> list[date]:
        """Every day of the month, in order."""
        count = (self.next_first_day - self.first_day).days
        return [self.first_day + timedelta(days=n) for n in range(count)]

    @property
    def start(self) -> datetime:
        """The month's first instant (UTC)."""
        return day_start(self.first_day)

    @property
    def end(self) -> datetime:
        """The first instant after the month (UTC)."""
        return day_start(self.next_first_day)

    def __str__(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"


def day_range(first: date, last: date) -> tuple[datetime, datetime]:
    """``[first 00:00, last+1 00:00)`` in Jakarta as UTC: both days included.

    Raises:
        ReportPeriodError: ``last`` before ``first``, or longer than :data:`MAX_RANGE_DAYS`.
    """
    if last < first:
        raise ReportPeriodError(f"the range ends ({last}) before it starts ({first})")
    if (last - first).days + 1 > MAX_RANGE_DAYS:
        raise ReportPeriodError(f"a range is at most {MAX_RANGE_DAYS} days")
    return day_start(first), day_start(last + timedelta(days=1))


def parse_day(text: str) -> date:
    """``yyyy-mm-dd`` as a date.

    Raises:
        ReportPeriodError: not such a date.
    """
    problem = ReportPeriodError(f"{text!r} is not a date written yyyy-mm-dd")
    if len(text) != 10:
        raise problem
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise problem from None
