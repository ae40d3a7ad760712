"""``GET /v1/forecasts?kelurahan=<code|name|city>``: the latest forecast run of one series, public JSON.

No API key: forecasts are public aggregates (per kelurahan, never per merchant). Every figure is an
exact integer: counts in milli-transactions, values in sen, backtest errors in basis points (see
:mod:`city.forecast.models`). Nothing is computed here (``python -m city.forecast compute``).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from sqlalchemy.orm import Session, sessionmaker

from api.db import get_sessions
from api.errors import error_responses
from city.forecast import reading

router = APIRouter(prefix="/v1/forecasts", tags=["city"])
Sessions = Annotated[sessionmaker[Session], Depends(get_sessions)]


@router.get("", summary="Forecast of one kelurahan or the city", responses=error_responses(404, 422))
def forecasts(
    sessions: Sessions,
    kelurahan: Annotated[
        str | None, Query(max_length=64, description="Kemendagri code or name, or `city` (default).")
    ] = None,
) -> dict[str, Any]:
    """The latest run's 90-day daily path with 80% intervals, the 30/60/90-day totals and the
    backtest errors of the model and the seasonal-naive baseline (``skipped_reason`` instead when
    the series had too little history)."""
    code = reading.subject_code(kelurahan)
    with sessions() as session:
        return reading.series_forecast(session, code).as_json()
