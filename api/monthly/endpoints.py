"""``GET /v1/reports/monthly`` and ``GET /v1/reports/monthly/{YYYY-MM}``: the stored monthly public
reports as JSON, public (aggregates only; no key). Integers are decimal strings; ``sha256`` is over
the canonical text of ``figures`` (:func:`audit.monthly.figures.canonical_json`).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends
from sqlalchemy.orm import Session, sessionmaker

from api.db import get_sessions
from api.errors import error_responses
from api.monthly.view import as_json
from audit.monthly.store import get_report, list_reports

router = APIRouter(prefix="/v1/reports/monthly", tags=["audit"])
Sessions = Annotated[sessionmaker[Session], Depends(get_sessions)]


@router.get("", summary="Stored monthly reports")
def monthly_reports(sessions: Sessions) -> dict[str, Any]:
    """Every stored month, newest first, with its end block, sha256 and liabilities root."""
    with sessions() as session:
        reports = list_reports(session)
    return {
        "reports": [
            {
                "month": r.month,
                "sha256": r.sha256,
                "end_block": str(r.end_block_number),
                "liabilities_root": (r.figures["attestation"] or {}).get("root"),
                "url": f"/v1/reports/monthly/{r.month}",
            }
            for r in reports
        ]
    }


@router.get("/{month}", summary="One monthly report", responses=error_responses(404, 422))
def monthly_report(month: str, sessions: Sessions) -> dict[str, Any]:
    """The month's stored report (404 if none; 422 if ``month`` is not ``YYYY-MM``)."""
    with sessions() as session:
        return as_json(get_report(session, month))
