"""Stores each month's report once and reads the stored ones back.

:func:`publish` builds a month's report and stores its canonical JSON with the sha256; a month
already stored is returned unchanged, never rebuilt (the report is what was published). Reads
check the stored sha256 against the stored JSON.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from audit.monthly.build import build_report
from audit.monthly.figures import canonical_json, sha256_of
from audit.monthly.models import MonthlyReportRow
from audit.monthly.period import Month, parse_month
from common.errors import ConflictError, NotFoundError
from common.sql.helpers import read_snapshot, utcnow


class ReportNotFoundError(NotFoundError):
    """No report is stored for the month."""

    code = "monthly_report_not_found"


@dataclass(frozen=True, slots=True)
class StoredReport:
    """A stored report: its month, end block, figures (JSON values) and their sha256."""

    month: str
    end_block_number: int
    end_block_hash: str
    end_block_timestamp: int
    figures: dict[str, Any]
    figures_json: str
    sha256: str
    created_at: datetime


def _stored(row: MonthlyReportRow) -> StoredReport:
    if sha256_of(row.figures) != row.sha256:
        raise ConflictError("the stored report does not match its sha256", month=row.month)
    return StoredReport(
        month=row.month,
        end_block_number=int(row.end_block_number),
        end_block_hash=row.end_block_hash,
        end_block_timestamp=int(row.end_block_timestamp),
        figures=json.loads(row.figures),
        figures_json=row.figures,
        sha256=row.sha256,
        created_at=row.created_at,
    )


def publish(
    sessions: sessionmaker[Session], month: Month, *, now: datetime | None = None, stream: str = "default"
) -> tuple[StoredReport, bool]:
    """``month``'s stored report and whether this call stored it (False: it was already stored).

    Raises:
        MonthNotReadyError: the month has not ended or the mirror has not reached its end (nothing
            is stored).
    """
    with sessions() as session:
        existing = session.scalar(select(MonthlyReportRow).where(MonthlyReportRow.month == month.text))
        if existing is not None:
            return _stored(existing), False
    with sessions() as session:
        # One snapshot: the indexer keeps committing while the report reads the mirror at the
        # month's end block (projection rows and the events above that block must agree).
        read_snapshot(session)
        report = build_report(session, month, now=now, stream=stream)
        session.rollback()
    with sessions() as session:
        text = canonical_json(report.to_json())
        row = MonthlyReportRow(
            month=month.text,
            end_block_number=report.end_block.number,
            end_block_hash=report.end_block.hash,
            end_block_timestamp=report.end_block.timestamp,
            figures=text,
            sha256=sha256_of(text),
            created_at=utcnow(),
        )
        session.add(row)
        try:
            session.commit()
        except IntegrityError:  # built at the same time by another process: theirs stands
            session.rollback()
            return get_report(session, month.text), False
        return _stored(row), True


def get_report(session: Session, month: str) -> StoredReport:
    """The stored report of ``month`` (``YYYY-MM``).

    Raises:
        InvalidMonthError: ``month`` is not ``YYYY-MM``.
        ReportNotFoundError: none is stored.
    """
    text = parse_month(month).text
    row = session.scalar(select(MonthlyReportRow).where(MonthlyReportRow.month == text))
    if row is None:
        raise ReportNotFoundError("no monthly report is stored for this month", month=text)
    return _stored(row)


def list_reports(session: Session) -> list[StoredReport]:
    """Every stored report, newest month first."""
    rows = session.scalars(select(MonthlyReportRow).order_by(MonthlyReportRow.month.desc()))
    return [_stored(row) for row in rows]
