"""``GET /v1/lpui?from=&to=`` and ``GET /v1/lpui/ranking?day=``: the stored LPUI, public, JSON.

No API key: the index is a public aggregate (per kelurahan, never per merchant). Every figure is
an exact integer (index in basis points, average count x 1000, sen); see :mod:`city.lpui.models`.
Nothing is computed here: rows come from ``lpui_daily`` (``python -m city.lpui compute``).
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from sqlalchemy.orm import Session, sessionmaker

from api.db import get_sessions
from api.errors import error_responses
from city.lpui import reading
from city.lpui.compute import InvalidRangeError
from common.errors import NotFoundError

router = APIRouter(prefix="/v1/lpui", tags=["city"])
Sessions = Annotated[sessionmaker[Session], Depends(get_sessions)]
MAX_DAYS = 366
"""The most days one ``/v1/lpui`` answer covers (28 rows a day)."""


class NoLpuiError(NotFoundError):
    """No LPUI is stored for the asked day (or none at all)."""

    code = "lpui_not_computed"


@router.get("", summary="LPUI per kelurahan and day", responses=error_responses(422))
def lpui_range(
    sessions: Sessions,
    first: Annotated[date, Query(alias="from", description="First Asia/Jakarta day (YYYY-MM-DD).")],
    last: Annotated[date, Query(alias="to", description="Last day, inclusive.")],
) -> dict[str, Any]:
    """Every stored row of the range (at most 366 days), by day then Kemendagri code
    (``unknown``: merchants in no kelurahan of the city; its ``index_bp`` is null)."""
    if (last - first).days >= MAX_DAYS:
        raise InvalidRangeError(f"one answer covers at most {MAX_DAYS} days")
    with sessions() as session:
        rows = reading.rows_between(session, first, last)
    return {"from": first.isoformat(), "to": last.isoformat(), "rows": [r.as_json() for r in rows]}


@router.get("/ranking", summary="Kelurahan ranked by LPUI on one day", responses=error_responses(404, 422))
def lpui_ranking(
    sessions: Sessions,
    day: Annotated[date | None, Query(description="Asia/Jakarta day; default: the latest computed.")] = None,
) -> dict[str, Any]:
    """The 27 kelurahan of ``day``, highest index first (ties by code), with their rank."""
    with sessions() as session:
        chosen = day or reading.latest_day(session)
        rows = reading.ranking(session, chosen) if chosen else []
    if chosen is None or not rows:
        raise NoLpuiError(f"no LPUI is computed for {chosen or 'any day'} yet")
    ranked = [{"rank": n, **r.as_json()} for n, r in enumerate(rows, start=1)]
    return {"day": chosen.isoformat(), "ranking": ranked}
