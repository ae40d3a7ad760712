"""``/explorer/lpui`` (a public page in the explorer's look) and ``/explorer/lpui.csv``.

The page shows, for a range of days (default: the 14 days ending on the latest computed one), a
kelurahan x day heat-map of the index (one CSS class per band of 2,000 basis points: the CSP
allows no inline style), the ranking on the range's last day and the trend of the city average
(the mean of the 27 indexes, rounded half up to a basis point). Every figure carries its exact
integers in a ``title`` attribute; the CSV has them all, text cells neutralised
(:mod:`audit.csv_safe`). Bahasa Indonesia unless ``?lang=en`` (then remembered in a cookie), as
on the other pages people use (:mod:`webui.i18n`).
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import date, timedelta
from fractions import Fraction
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session, sessionmaker

from api.db import get_sessions
from audit.csv_safe import text_cell
from audit.explorer.endpoints import STATIC_URL
from city.kelurahan import KELURAHAN
from city.lpui import reading
from city.lpui.compute import InvalidRangeError, days, round_half_up
from city.lpui.reading import LpuiRow
from city.simulated import simulated_merchants
from common.errors import MSCError
from webui.i18n import LANGUAGE_COOKIE, LANGUAGE_PARAM, PageTemplates, negotiate, remember_language

TEMPLATES = PageTemplates([Path(__file__).resolve().parents[2] / "audit" / "explorer" / "templates"])
DEFAULT_DAYS = 14
MAX_PAGE_DAYS = 92
"""The most days the page shows (a quarter); the CSV and the API take longer ranges."""
BANDS = 5
CSV_COLUMNS = (
    "day",
    "kelurahan_code",
    "kelurahan",
    "kecamatan",
    "window_days",
    "tx_count",
    "tx_value_sen",
    "avg_count_milli",
    "avg_value_sen",
    "index_bp",
)
TEXT_COLUMNS = frozenset({"day", "kelurahan_code", "kelurahan", "kecamatan"})

router = APIRouter(prefix="/explorer", tags=["explorer"])
Sessions = Annotated[sessionmaker[Session], Depends(get_sessions)]
DayParam = Annotated[date | None, Query(description="Asia/Jakarta day (YYYY-MM-DD).")]


@dataclass(frozen=True)
class Cell:
    """One heat-map cell: the stored row (None: not computed) and its band class."""

    row: LpuiRow | None

    @property
    def band(self) -> str:
        """``lpui-b0`` .. ``lpui-b4`` by index (2,000 bp each), ``lpui-none`` if not computed."""
        if self.row is None or self.row.index_bp is None:
            return "lpui-none"
        return f"lpui-b{min(self.row.index_bp * BANDS // 10_000, BANDS - 1)}"

    @property
    def exact(self) -> str:
        """The exact integers, for the ``title`` attribute."""
        r = self.row
        if r is None:
            return ""
        return (
            f"index_bp={r.index_bp} avg_count_milli={r.avg_count_milli} avg_value_sen={r.avg_value_sen} "
            f"tx_count={r.tx_count} tx_value_sen={r.tx_value_sen} window_days={r.window_days}"
        )


def language_of(request: Request) -> str:
    """``?lang=``, then the cookie, then ``Accept-Language``, else Indonesian."""
    return negotiate(
        request.headers.get("accept-language"),
        (request.query_params.get(LANGUAGE_PARAM), request.cookies.get(LANGUAGE_COOKIE)),
    )


def _range(session: Session, first: date | None, last: date | None) -> tuple[date, date] | None:
    end = last or reading.latest_day(session)
    if end is None:
        return None
    default_first = (
        end - timedelta(days=DEFAULT_DAYS - 1) if end - date.min >= timedelta(DEFAULT_DAYS) else end
    )
    return first or default_first, end


def city_average(rows: list[LpuiRow]) -> int:
    """The mean index of the 27 kelurahan's rows, in basis points (rounded half up)."""
    indexes = [r.index_bp for r in rows if r.index_bp is not None]
    return round_half_up(Fraction(sum(indexes), len(KELURAHAN))) if indexes else 0


@router.get("/lpui", response_class=HTMLResponse, summary="LPUI per kelurahan")
def lpui_page(
    request: Request, sessions: Sessions, first: DayParam = None, last: DayParam = None
) -> Response:
    """The heat-map, the ranking and the city-average trend (``?first=&last=`` choose the days)."""
    language = language_of(request)
    try:
        with sessions() as session:
            chosen = _range(session, first, last)
            if chosen and (chosen[1] - chosen[0]).days >= MAX_PAGE_DAYS:
                raise InvalidRangeError(f"the page shows at most {MAX_PAGE_DAYS} days; the CSV has more")
            rows = reading.rows_between(session, *chosen) if chosen else []
            simulated = simulated_merchants(session)
    except MSCError as exc:
        body = TEMPLATES.render("lpui.html", language, static=STATIC_URL, error=exc.message, span=None)
        return HTMLResponse(body, status_code=exc.status_code)
    by_key = {(r.kelurahan_code, r.day): r for r in rows}
    shown = days(*chosen) if chosen else []
    heat = [(k, [Cell(by_key.get((k.code, d))) for d in shown]) for k in KELURAHAN]
    last_day = shown[-1] if shown else None
    ranking = sorted(
        (r for r in rows if r.day == last_day and r.index_bp is not None),
        key=lambda r: (-(r.index_bp or 0), r.kelurahan_code),
    )
    by_day: dict[date, list[LpuiRow]] = {}
    for r in rows:
        by_day.setdefault(r.day, []).append(r)
    trend = []
    for d in shown:
        day_rows = by_day.get(d, [])
        average = city_average(day_rows)
        trend.append(
            (d, average, Cell(None).band if not day_rows else f"lpui-b{min(average * BANDS // 10_000, 4)}")
        )
    unknown = [r for r in rows if r.index_bp is None and r.day == last_day]
    body = TEMPLATES.render(
        "lpui.html",
        language,
        static=STATIC_URL,
        error=None,
        span=chosen,
        days=shown,
        heat=heat,
        ranking=ranking,
        trend=trend,
        unknown=unknown[0] if unknown else None,
        simulated=simulated,
        csv_url="/explorer/lpui.csv" + (f"?first={chosen[0]}&last={chosen[1]}" if chosen else ""),
        here="/explorer/lpui?" + (f"first={chosen[0]}&last={chosen[1]}&" if chosen else ""),
    )
    response = HTMLResponse(body)
    remember_language(request.query_params.get(LANGUAGE_PARAM), response, language)
    return response


@router.get("/lpui.csv", summary="LPUI per kelurahan (CSV)")
def lpui_csv(sessions: Sessions, first: DayParam = None, last: DayParam = None) -> Response:
    """Every stored row of the range (default as the page's) with its exact integers."""
    with sessions() as session:
        chosen = _range(session, first, last)
        rows = reading.rows_between(session, *chosen) if chosen else []
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for r in rows:
        values = r.as_json()
        writer.writerow(
            text_cell(str(values[c])) if c in TEXT_COLUMNS else ("" if values[c] is None else str(values[c]))
            for c in CSV_COLUMNS
        )
    return Response(
        out.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="lpui.csv"'},
    )
