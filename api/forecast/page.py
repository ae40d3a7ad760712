"""``/explorer/forecasts``: the latest forecasts of one kelurahan or the city, in the explorer's look.

Per metric (payments a day, value a day): the 30/60/90-day totals with their 80% intervals, a
server-rendered SVG chart (the last 28 days of actuals, the 90-day forecast and its band; classes
only, the CSP allows no inline style), the backtest errors of the model and the seasonal-naive
baseline side by side, and a notice when the model does not beat the baseline. ``?kelurahan=``
chooses the series (default: the city). Exact integers in ``title`` attributes; Bahasa Indonesia
unless ``?lang=en`` (then remembered in a cookie), as on the LPUI page.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session, sessionmaker

from api.db import get_sessions
from api.forecast.chart import build
from api.lpui.page import language_of
from audit.explorer.endpoints import STATIC_URL
from city.forecast import reading
from city.forecast.compute import METRICS
from city.forecast.models import CITY_CODE
from city.kelurahan import CITY_NAME, KELURAHAN
from city.simulated import simulated_merchants
from common.errors import MSCError
from webui.i18n import LANGUAGE_PARAM, PageTemplates, remember_language

TEMPLATES = PageTemplates([Path(__file__).resolve().parents[2] / "audit" / "explorer" / "templates"])
HISTORY_SHOWN_DAYS = 28
"""Days of actuals drawn before the forecast."""

router = APIRouter(prefix="/explorer", tags=["explorer"])
Sessions = Annotated[sessionmaker[Session], Depends(get_sessions)]


@router.get("/forecasts", response_class=HTMLResponse, summary="Forecasts per kelurahan")
def forecasts_page(
    request: Request,
    sessions: Sessions,
    kelurahan: Annotated[str | None, Query(max_length=64, description="Code or name, or `city`.")] = None,
) -> Response:
    """The chosen series' forecast (default: the whole city)."""
    language = language_of(request)
    choices = [(CITY_CODE, CITY_NAME), *((k.code, k.name) for k in KELURAHAN)]
    common = {"static": STATIC_URL, "choices": choices}
    try:
        code = reading.subject_code(kelurahan)
        with sessions() as session:
            found = reading.series_forecast(session, code)
            history = reading.recent_history(session, code, found.run.history_last, HISTORY_SHOWN_DAYS)
            simulated = simulated_merchants(session)
    except MSCError as exc:
        body = TEMPLATES.render(
            "forecast.html", language, **common, error=exc, chosen=CITY_CODE, here="/explorer/forecasts?"
        )
        return HTMLResponse(body, status_code=exc.status_code)
    charts = {m: build(history[m], f.days) for m, f in found.metrics.items() if f.days}
    body = TEMPLATES.render(
        "forecast.html",
        language,
        **common,
        error=None,
        chosen=code,
        found=found,
        metrics=METRICS,
        charts=charts,
        forecast_first=found.run.history_last + timedelta(days=1),
        simulated=simulated,
        here=f"/explorer/forecasts?kelurahan={code}&",
    )
    response = HTMLResponse(body)
    remember_language(request.query_params.get(LANGUAGE_PARAM), response, language)
    return response
