"""A report's month: its Asia/Jakarta bounds and the mirrored block that ends it.

The month ``YYYY-MM`` runs from 00:00 WIB of its first day to 00:00 WIB of the next month's first
day (exclusive). Its end block is the last block the mirror holds with a timestamp before that
instant; the month is *ready* only once the mirror holds a block at or after it (so no later block
of the month can still arrive) and the instant has passed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, select

from common.errors import ConflictError, ValidationError
from indexer.store import BLOCKS, load_checkpoint

JAKARTA = ZoneInfo("Asia/Jakarta")
MONTH = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")


class InvalidMonthError(ValidationError):
    """The month is not written ``YYYY-MM``."""

    code = "invalid_month"


class MonthNotReadyError(ConflictError):
    """The month has not ended yet, or the mirror has not reached its end."""

    code = "month_not_ready"


@dataclass(frozen=True, slots=True)
class Month:
    """One calendar month in Asia/Jakarta, with its bounds as UTC instants."""

    year: int
    month: int

    @property
    def text(self) -> str:
        """``YYYY-MM``."""
        return f"{self.year:04d}-{self.month:02d}"

    @property
    def start(self) -> datetime:
        """00:00 WIB of its first day, in UTC."""
        return datetime(self.year, self.month, 1, tzinfo=JAKARTA).astimezone(UTC)

    @property
    def end(self) -> datetime:
        """00:00 WIB of the next month's first day, in UTC (exclusive)."""
        return self.next().start

    def next(self) -> Month:
        """The month after."""
        return Month(self.year + self.month // 12, self.month % 12 + 1)

    def previous(self) -> Month:
        """The month before."""
        return Month(self.year - (self.month == 1), (self.month - 2) % 12 + 1)


def parse_month(text: str) -> Month:
    """The month written ``YYYY-MM``.

    Raises:
        InvalidMonthError: it is not (or its year is before 1970).
    """
    found = MONTH.match(text)
    if not found or int(found.group(1)) < 1970:
        raise InvalidMonthError("month must be YYYY-MM (from 1970-01)", month=text[:16])
    return Month(int(found.group(1)), int(found.group(2)))


def last_ended(now: datetime) -> Month:
    """The last month (Asia/Jakarta) that has ended at ``now``."""
    local = now.astimezone(JAKARTA)
    return Month(local.year, local.month).previous()


@dataclass(frozen=True, slots=True)
class BlockRef:
    """A mirrored block: number, hash and Unix timestamp."""

    number: int
    hash: str
    timestamp: int


def last_block_before(conn: Connection, instant: datetime, stream: str = "default") -> BlockRef | None:
    """The last mirrored block (up to the checkpoint) with a timestamp before ``instant``."""
    state = load_checkpoint(conn, stream)
    if state is None:
        return None
    row = conn.execute(
        select(BLOCKS.c.number, BLOCKS.c.hash, BLOCKS.c.timestamp)
        .where(BLOCKS.c.timestamp < int(instant.timestamp()), BLOCKS.c.number <= state.block_number)
        .order_by(BLOCKS.c.number.desc())
        .limit(1)
    ).first()
    return None if row is None else BlockRef(int(row[0]), str(row[1]), int(row[2]))


def end_block(conn: Connection, month: Month, now: datetime, stream: str = "default") -> BlockRef:
    """``month``'s end block.

    Raises:
        MonthNotReadyError: the month has not ended at ``now``, the mirror holds no block at or
            after its end yet, or no block at all before it.
    """
    if now < month.end:
        raise MonthNotReadyError("this month has not ended yet", month=month.text)
    state = load_checkpoint(conn, stream)
    reached = None
    if state is not None:
        reached = conn.execute(
            select(BLOCKS.c.number)
            .where(BLOCKS.c.timestamp >= int(month.end.timestamp()), BLOCKS.c.number <= state.block_number)
            .limit(1)
        ).first()
    if reached is None:
        raise MonthNotReadyError("the mirror has not reached the end of this month yet", month=month.text)
    found = last_block_before(conn, month.end, stream)
    if found is None:
        raise MonthNotReadyError("the mirror holds no block in or before this month", month=month.text)
    return found
