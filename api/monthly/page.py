"""``/explorer/reports`` (the stored monthly reports, the last one with its on-chain root) and
``/explorer/reports/{YYYY-MM}`` with its ``.csv``, ``.json`` and ``.pdf``.

Pages only read what ``python -m audit monthly build`` stored; nothing is computed or written on
a request. The explorer's look; Bahasa Indonesia unless ``?lang=en`` (remembered in a cookie);
every amount carries its exact integer in a ``title`` attribute.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from sqlalchemy.orm import Session, sessionmaker

from api.db import get_sessions
from api.lpui.page import language_of
from api.monthly.exports import facts, formatted, report_csv, report_pdf
from api.monthly.view import as_json, kelurahan_rows, sections
from audit.explorer.endpoints import STATIC_URL
from audit.monthly.store import get_report, list_reports
from common.errors import MSCError
from webui.i18n import (
    LANGUAGE_PARAM,
    PageTemplates,
    remember_language,
    utc_moment,
)

TEMPLATES = PageTemplates([Path(__file__).resolve().parents[2] / "audit" / "explorer" / "templates"])

router = APIRouter(prefix="/explorer", tags=["explorer"])
Sessions = Annotated[sessionmaker[Session], Depends(get_sessions)]


def _remember_language(request: Request, response: Response) -> Response:
    remember_language(request.query_params.get(LANGUAGE_PARAM), response, language_of(request))
    return response


@router.get("/reports", response_class=HTMLResponse, summary="Monthly public reports")
def reports_page(request: Request, sessions: Sessions) -> Response:
    """Every stored month, newest first; the last one's liabilities root and its transaction."""
    language = language_of(request)
    with sessions() as session:
        reports = list_reports(session)
    body = TEMPLATES.render(
        "monthly_list.html",
        language,
        static=STATIC_URL,
        reports=reports,
        last=reports[0] if reports else None,
        moment=lambda seconds: utc_moment(seconds, language),
        here="/explorer/reports?",
    )
    return _remember_language(request, HTMLResponse(body))


@router.get("/reports/{month}.csv", summary="A monthly report (CSV, exact integers)")
def report_csv_file(month: str, sessions: Sessions) -> Response:
    """Every figure, the per-kelurahan totals and the facts as exact integers."""
    with sessions() as session:
        report = get_report(session, month)
    return Response(
        report_csv(report),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="msc-report-{report.month}.csv"'},
    )


@router.get("/reports/{month}.json", summary="A monthly report (JSON, exact integers)")
def report_json_file(month: str, sessions: Sessions) -> Response:
    """The stored figures with their sha256 (as ``/v1/reports/monthly/{month}``)."""
    with sessions() as session:
        report = get_report(session, month)
    return JSONResponse(
        as_json(report),
        headers={"Content-Disposition": f'attachment; filename="msc-report-{report.month}.json"'},
    )


@router.get("/reports/{month}.pdf", summary="A monthly report (PDF)")
def report_pdf_file(month: str, request: Request, sessions: Sessions) -> Response:
    """The report as an A4 PDF in the page's language."""
    with sessions() as session:
        report = get_report(session, month)
    return Response(
        report_pdf(report, language_of(request)),
        media_type="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="msc-report-{report.month}.pdf"'},
    )


@router.get("/reports/{month}", response_class=HTMLResponse, summary="A monthly public report")
def report_page(month: str, request: Request, sessions: Sessions) -> Response:
    """All the month's figures, the per-kelurahan table, the liabilities root and the sha256."""
    language = language_of(request)
    try:
        with sessions() as session:
            report = get_report(session, month)
    except MSCError as exc:
        body = TEMPLATES.render(
            "monthly.html", language, static=STATIC_URL, error=exc.message, here=f"/explorer/reports/{month}?"
        )
        return HTMLResponse(body, status_code=exc.status_code)
    body = TEMPLATES.render(
        "monthly.html",
        language,
        static=STATIC_URL,
        error=None,
        report=report,
        f=report.figures,
        sections=sections(report),
        kelurahan=kelurahan_rows(report),
        facts=dict(facts(report)),
        show=lambda figure: formatted(figure, language),
        moment=lambda seconds: utc_moment(seconds, language),
        here=f"/explorer/reports/{report.month}?",
    )
    return _remember_language(request, HTMLResponse(body))
