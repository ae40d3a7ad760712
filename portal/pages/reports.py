"""Reports of a merchant: the QR poster, the payments export and the monthly statement.

* ``/portal/m/{merchant}/qr.pdf``: the A6 poster of the shop's checkout link (``view_sales``).
* ``/portal/m/{merchant}/reports``: the page (``view_sales``); the statement's totals on it only
  for roles with ``view_statement``.
* ``/portal/m/{merchant}/reports/payments.csv?from=yyyy-mm-dd&to=yyyy-mm-dd``: the payments export
  (``view_sales``: a cashier sees sales, so it may export them for the shop's bookkeeping).
* ``/portal/m/{merchant}/reports/statement/{yyyy-mm}.csv`` / ``.pdf``: the monthly statement
  (``view_statement``, owners only: it shows payouts and balances, the money a cashier does not
  handle).

Every figure comes from :mod:`merchant_reports`, read from the settlement books.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, Response

from accounts.models import Permission
from common.errors import NotFoundError
from merchant_reports import exports, repository, statement
from merchant_reports.csv_files import explorer_note, payments_csv, statement_csv
from merchant_reports.periods import Month, local_day, parse_day
from merchant_reports.poster import poster_pdf
from merchant_reports.statement_pdf import statement_pdf
from portal.services import portal_services
from portal.web import Member, member, public_url, render

router = APIRouter(prefix="/portal/m/{merchant_id}", tags=["portal"], include_in_schema=False)
Viewer = Annotated[Member, Depends(member(Permission.VIEW_SALES))]
Owner = Annotated[Member, Depends(member(Permission.VIEW_STATEMENT))]
FORMATS = {"csv": "text/csv; charset=utf-8", "pdf": "application/pdf"}


class ReportFormatNotFoundError(NotFoundError):
    """A statement asked for in a format there is none of."""

    code = "report_format_not_found"

    def __init__(self, fmt: str) -> None:
        super().__init__(f"statements are csv or pdf, not {fmt!r}")


def _download(body: bytes | str, media_type: str, filename: str) -> Response:
    """A file the browser saves (never cached: it is one merchant's books)."""
    return Response(
        body.encode() if isinstance(body, str) else body,
        media_type=media_type,
        headers={
            "Content-Disposition": f'attachment; filename="{filename}"',
            "Cache-Control": "no-store",
            "X-Content-Type-Options": "nosniff",
        },
    )


@router.get("/qr.pdf")
def qr_poster(request: Request, viewer: Viewer) -> Response:
    """The shop's A6 QR poster, in the member's language."""
    services = portal_services(request)
    with services.sessions() as db:
        shop = repository.merchant(db, viewer.merchant_id)
    if shop is None:
        raise statement.MerchantNotFoundError(viewer.merchant_id)
    url = public_url(request, f"/pay/{viewer.merchant_id}")
    body = poster_pdf(shop.name, shop.kelurahan, url, viewer.language)
    return _download(body, FORMATS["pdf"], f"qr-{viewer.merchant_id}.pdf")


@router.get("/reports", response_class=HTMLResponse)
def reports_page(
    request: Request,
    viewer: Viewer,
    month: Annotated[str | None, Query(max_length=7)] = None,
) -> HTMLResponse:
    """The reports page: the payments export form and, for owners, the month's statement."""
    services = portal_services(request)
    today = local_day(services.clock())
    chosen = Month.parse(month) if month else Month(today.year, today.month)
    st = None
    if viewer.may(Permission.VIEW_STATEMENT):
        with services.sessions() as db:
            st = statement.build(db, viewer.merchant_id, chosen, services.clock())
    return render(
        request,
        viewer,
        "portal/reports/reports.html",
        month=str(chosen),
        months=_recent_months(today, 12),
        first=today.replace(day=1).isoformat(),
        last=today.isoformat(),
        statement=st,
        explorer_note=explorer_note(viewer.language, public_url(request, "/explorer")),
    )


@router.get("/reports/payments.csv")
def payments_export(
    request: Request,
    viewer: Viewer,
    first: Annotated[str, Query(alias="from", max_length=10)],
    last: Annotated[str, Query(alias="to", max_length=10)],
) -> Response:
    """The payments created between two Jakarta days (both included) as CSV."""
    start, end = parse_day(first), parse_day(last)
    with portal_services(request).sessions() as db:
        lines = exports.payments(db, viewer.merchant_id, start, end)
    body = payments_csv(lines, viewer.language, public_url(request, ""))
    return _download(body, FORMATS["csv"], f"payments-{start}-{end}.csv")


@router.get("/reports/statement/{period}.{fmt}")
def statement_file(request: Request, owner: Owner, period: str, fmt: str) -> Response:
    """The month's statement as CSV or PDF, in the member's language."""
    if fmt not in FORMATS:
        raise ReportFormatNotFoundError(fmt)
    month = Month.parse(period)
    services = portal_services(request)
    with services.sessions() as db:
        st = statement.build(db, owner.merchant_id, month, services.clock())
    explorer = public_url(request, "/explorer")
    body: bytes | str = (
        statement_csv(st, owner.language, explorer)
        if fmt == "csv"
        else statement_pdf(st, owner.language, explorer)
    )
    return _download(body, FORMATS[fmt], f"statement-{month}.{fmt}")


def _recent_months(today: date, count: int) -> list[str]:
    """This month and the ``count - 1`` before it, newest first."""
    months, day = [], today.replace(day=1)
    for _index in range(count):
        months.append(f"{day.year:04d}-{day.month:02d}")
        day = (day - timedelta(days=1)).replace(day=1)
    return months
