"""A merchant's payments: the list with filters, search and pages, and one payment's detail.

The detail shows the status history, the Pi txid, a link to the customer's public receipt and,
for roles that may refund, the link to the refund form (``/payments/{id}/refund``).
"""

from __future__ import annotations

import uuid
from datetime import date
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse

from accounts.models import Permission
from portal import sales
from portal.services import portal_services
from portal.web import Member, member, render
from webui.i18n import N_, gettext, rupiah_input

router = APIRouter(prefix="/portal/m/{merchant_id}", tags=["portal"], include_in_schema=False)
Viewer = Annotated[Member, Depends(member(Permission.VIEW_SALES))]

STATUS_LABELS: dict[str, str] = {
    "incomplete": N_("Started by the customer"),
    "pending_user_transfer_start": N_("Waiting for the customer's Pi"),
    "pending_anchor": N_("Checking the Pi transaction"),
    "pending_stellar": N_("Received, going into escrow"),
    "completed": N_("Received, in escrow"),
    "expired": N_("Expired, nothing paid"),
    "refunded": N_("Pi returned to the customer"),
    "error": N_("Needs the operator"),
}
"""What a merchant reads for each payment status."""
BAD_DATE = N_("A date was not understood and is ignored.")


def status_label(language: str, status: str) -> str:
    """A payment status in words, in ``language``."""
    return gettext(language, STATUS_LABELS.get(status, status))


def _date(text: str) -> tuple[date | None, bool]:
    """A ``YYYY-MM-DD`` field: the date (None when empty) and whether the text was understood."""
    if not text:
        return None, True
    try:
        return date.fromisoformat(text), True
    except ValueError:
        return None, False


@router.get("/payments", response_class=HTMLResponse)
def payment_list(
    request: Request,
    viewer: Viewer,
    status: Annotated[str, Query(max_length=40)] = "",
    date_from: Annotated[str, Query(alias="from", max_length=10)] = "",
    date_to: Annotated[str, Query(alias="to", max_length=10)] = "",
    q: Annotated[str, Query(max_length=128)] = "",
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
) -> HTMLResponse:
    """The merchant's payments, newest first, filtered by status, Jakarta dates and a search."""
    services = portal_services(request)
    start, start_ok = _date(date_from)
    end, end_ok = _date(date_to)
    filters = sales.PaymentFilter(
        status=status if status in sales.STATUSES else None,
        date_from=start,
        date_to=end,
        search=q,
        amount_sen=rupiah_input(q) if q else None,
    )
    with services.sessions() as db:
        found = sales.payments_page(db, viewer.merchant_id, filters, page, services.settings.page_size)
    query = {"status": filters.status or "", "from": date_from, "to": date_to, "q": q}
    base = f"/portal/m/{viewer.merchant_id}/payments?"
    return render(
        request,
        viewer,
        "portal/payments/list.html",
        found=found,
        statuses=[(s, status_label(viewer.language, s)) for s in sales.STATUSES],
        label=lambda s: status_label(viewer.language, s),
        query=query,
        warning=gettext(viewer.language, BAD_DATE) if not (start_ok and end_ok) else "",
        prev_url=base + urlencode({**query, "page": page - 1}) if page > 1 else "",
        next_url=base + urlencode({**query, "page": page + 1}) if found.has_next else "",
        jakarta=sales.JAKARTA,
    )


@router.get("/payments/{payment_id}", response_class=HTMLResponse)
def payment_detail(request: Request, viewer: Viewer, payment_id: uuid.UUID) -> HTMLResponse:
    """One payment: amounts, status history, Pi ids, the receipt and (for owners) refunding."""
    services = portal_services(request)
    with services.sessions() as db:
        found = sales.payment_detail(db, viewer.merchant_id, payment_id)
    return render(
        request,
        viewer,
        "portal/payments/detail.html",
        detail=found,
        payment=found.payment,
        label=lambda s: status_label(viewer.language, s),
        receipt_url=f"/pay/receipt/{payment_id}",
        refund_url=f"/portal/m/{viewer.merchant_id}/payments/{payment_id}/refund",
        can_refund=viewer.may(Permission.REFUND) and found.payment.status == "completed",
        jakarta=sales.JAKARTA,
    )
