"""A stored monthly report for the web tests, written the way ``audit.monthly.store`` writes one.

The figures are built here (the figures' correctness against a real chain is tests/audit/monthly);
the web tests check that every view (page, JSON, CSV, PDF) shows exactly what is stored.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.orm import Session, sessionmaker

from audit.monthly.figures import (
    Anomalies,
    Attestation,
    Carbon,
    EndBlock,
    Flow,
    KelurahanTotal,
    Liabilities,
    MonthlyReport,
    Reconciliation,
    Reserves,
    canonical_json,
    sha256_of,
)
from audit.monthly.models import MonthlyReportRow
from city.kelurahan import KELURAHAN

ROOT = "0x" + "ab" * 32
TX = "0x" + "cd" * 32


def sample(month: str, *, published: bool = True, supply: int = 123_456_789_012_345_678_901) -> MonthlyReport:
    """A report of ``month`` with every figure distinct (a uint256-sized supply included)."""
    return MonthlyReport(
        month=month,
        start=f"{month}-01T00:00:00+07:00",
        end="next",
        end_block=EndBlock(4242, "0x" + "11" * 32, 1_790_787_599),
        msc_supply=supply,
        mints_total=supply + 500_00,
        burns_total=500_00,
        reserves=Reserves(supply + 1, supply, "BANK/RESERVES/7", 4100, "0x" + "22" * 32),
        liabilities=Liabilities(77, 1_023_45, 300_00, 12_00, 3),
        attestation=Attestation(
            published,
            "confirmed" if published else "written",
            ROOT,
            1_335_45,
            4300,
            TX if published else "",
            4301 if published else None,
        ),
        mints=Flow(3, 357_000),
        burns=Flow(1, 40_000),
        settled_payments=4,
        settled_idr=222_000_00,
        settled_pi=149_495_358,
        active_merchants=3,
        payers=None,
        kelurahan=(
            KelurahanTotal(KELURAHAN[0].code, 2, 175_000_00, 117_845_322, 1),
            KelurahanTotal(KELURAHAN[5].code, 1, 42_000_00, 28_282_930, 1),
            KelurahanTotal("unknown", 1, 5_000_00, 3_367_106, 1),
        ),
        escrow_outstanding=750_000,
        carbon=Carbon(5, 2, 1, 1_200, 120, 7),
        anomalies=Anomalies(2, 1),
        reconciliation=Reconciliation(4, 1, 60, 1, 9, True),
        simulated=True,
    )


def store(sessions: sessionmaker[Session], report: MonthlyReport) -> str:
    """Stores ``report`` as ``audit.monthly.store.publish`` would; returns its sha256."""
    text = canonical_json(report.to_json())
    digest = sha256_of(text)
    with sessions.begin() as s:
        s.add(
            MonthlyReportRow(
                month=report.month,
                end_block_number=report.end_block.number,
                end_block_hash=report.end_block.hash,
                end_block_timestamp=report.end_block.timestamp,
                figures=text,
                sha256=digest,
                created_at=datetime(2026, 12, 1, tzinfo=UTC),
            )
        )
    return digest
