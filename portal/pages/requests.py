"""A merchant's payment requests: list, create (Rupiah amount, reference, expiry), detail with the
share link, QR code and a printable card, and cancel.

The requests are the API's (``settlement.requests.service``, as ``/v1/payment-requests``): the
customer pays one at ``/pay/r/<id>``.
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, Response

from accounts.models import Permission
from common.errors import ValidationError
from portal import sales
from portal.pages.payments import status_label
from portal.services import portal_services
from portal.web import Member, member, public_url, redirect, render
from settlement.requests import repository, service
from settlement.requests.errors import PaymentRequestNotCancellableError, PaymentRequestNotFoundError
from settlement.requests.models import PaymentRequest
from webui.i18n import N_, gettext, rupiah_input

router = APIRouter(prefix="/portal/m/{merchant_id}", tags=["portal"], include_in_schema=False)
Cashier = Annotated[Member, Depends(member(Permission.CREATE_PAYMENT_REQUEST))]

EXPIRY_CHOICES: dict[str, tuple[int | None, str]] = {
    "15m": (15 * 60, N_("15 minutes")),
    "1h": (3600, N_("1 hour")),
    "1d": (86400, N_("1 day")),
    "7d": (7 * 86400, N_("7 days")),
    "never": (None, N_("Never")),
}
"""How long a new request can be paid: form value -> (seconds, label)."""
DEFAULT_EXPIRY = "1d"
REQUEST_STATUS_LABELS: dict[str, str] = {
    "open": N_("Open"),
    "processing": N_("Being paid"),
    "paid": N_("Paid"),
    "expired": N_("Expired"),
    "cancelled": N_("Cancelled"),
}
BAD_AMOUNT = N_("Type the amount in whole Rupiah, for example 12.000.")
AMOUNT_RANGE = N_("The amount must be more than Rp 0 and at most Rp 10.000.000.000.000.")
NOT_CANCELLABLE = N_("This request is being paid, paid or expired; it cannot be cancelled.")
REFERENCE_MAX = 200


def _label(language: str, status: str) -> str:
    return gettext(language, REQUEST_STATUS_LABELS.get(status, status))


def _list_page(
    request: Request,
    viewer: Member,
    offset: int,
    *,
    error: str = "",
    form: dict[str, str] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    services = portal_services(request)
    size = services.settings.page_size
    with services.sessions.begin() as db:
        rows, next_offset = repository.page(db, viewer.merchant_id, status=None, limit=size, offset=offset)
        fresh = [service.refresh(db, row.id, services.clock()) for row in rows]
        items = [_item(r) for r in fresh]
    base = f"/portal/m/{viewer.merchant_id}/requests"
    return render(
        request,
        viewer,
        "portal/requests/list.html",
        status_code=status_code,
        items=items,
        label=lambda s: _label(viewer.language, s),
        expiry_choices=[(key, gettext(viewer.language, text)) for key, (_s, text) in EXPIRY_CHOICES.items()],
        form=form or {"amount": "", "reference": "", "expiry": DEFAULT_EXPIRY, "reusable": ""},
        error=error,
        next_url=f"{base}?offset={next_offset}" if next_offset is not None else "",
        prev_url=f"{base}?offset={max(0, offset - size)}" if offset > 0 else "",
        jakarta=sales.JAKARTA,
    )


def _item(r: PaymentRequest) -> dict[str, object]:
    return {
        "id": r.id,
        "amount": r.amount,
        "reference": r.reference,
        "status": r.status,
        "reusable": r.reusable,
        "expires_at": r.expires_at,
        "created_at": r.created_at,
    }


@router.get("/requests", response_class=HTMLResponse)
def request_list(
    request: Request, viewer: Cashier, offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0
) -> HTMLResponse:
    """The merchant's payment requests, newest first, and the form for a new one."""
    return _list_page(request, viewer, offset)


@router.post("/requests", response_class=HTMLResponse)
def create_request(
    request: Request,
    viewer: Cashier,
    amount: Annotated[str, Form(max_length=40)] = "",
    reference: Annotated[str, Form(max_length=REFERENCE_MAX)] = "",
    expiry: Annotated[str, Form(max_length=10)] = DEFAULT_EXPIRY,
    reusable: Annotated[str, Form(max_length=10)] = "",
) -> Response:
    """Records a request for ``amount`` Rupiah and shows it (its link and QR code)."""
    form = {"amount": amount, "reference": reference, "expiry": expiry, "reusable": reusable}
    sen = rupiah_input(amount)
    if sen is None or sen <= 0:
        message = gettext(viewer.language, BAD_AMOUNT)
        return _list_page(request, viewer, 0, error=message, form=form, status_code=422)
    if expiry not in EXPIRY_CHOICES:
        expiry = DEFAULT_EXPIRY
    services = portal_services(request)
    seconds = EXPIRY_CHOICES[expiry][0]
    now = services.clock()
    try:
        with services.sessions.begin() as db:
            created = service.create(
                db,
                merchant_id=viewer.merchant_id,
                amount=sen,
                reference=reference.strip(),
                reusable=reusable == "on",
                expires_at=None if seconds is None else now + timedelta(seconds=seconds),
                now=now,
            )
            request_id = created.id
    except ValidationError:
        message = gettext(viewer.language, AMOUNT_RANGE)
        return _list_page(request, viewer, 0, error=message, form=form, status_code=422)
    return redirect(f"/portal/m/{viewer.merchant_id}/requests/{request_id}")


@router.get("/requests/{request_id}", response_class=HTMLResponse)
def request_detail(request: Request, viewer: Cashier, request_id: uuid.UUID) -> HTMLResponse:
    """One request: amount, status, share link, QR code (printable) and its payments."""
    return _detail_page(request, viewer, request_id)


def _detail_page(
    request: Request, viewer: Member, request_id: uuid.UUID, *, error: str = "", status_code: int = 200
) -> HTMLResponse:
    services = portal_services(request)
    with services.sessions.begin() as db:
        try:
            service.get(db, request_id, viewer.merchant_id)
        except PaymentRequestNotFoundError:
            raise sales.PortalRecordNotFoundError("payment request", request_id) from None
        fresh = service.refresh(db, request_id, services.clock())
        item = _item(fresh)
        payments = [
            {
                "id": p.id,
                "idr": p.idr_amount,
                "status": status_label(viewer.language, p.status),
                "created_at": p.created_at,
            }
            for p in service.payments_of(db, request_id)
        ]
    path = f"/pay/r/{request_id}"
    return render(
        request,
        viewer,
        "portal/requests/detail.html",
        status_code=status_code,
        item=item,
        payments=payments,
        label=lambda s: _label(viewer.language, s),
        share_url=public_url(request, path),
        qr_svg=f"{path}/qr.svg",
        qr_png=f"{path}/qr.png",
        error=error,
        jakarta=sales.JAKARTA,
    )


@router.post("/requests/{request_id}/cancel", response_class=HTMLResponse)
def cancel_request(request: Request, viewer: Cashier, request_id: uuid.UUID) -> Response:
    """Withdraws an open request: its link stops taking payments."""
    services = portal_services(request)
    try:
        with services.sessions.begin() as db:
            service.cancel(db, request_id, viewer.merchant_id, services.clock())
    except PaymentRequestNotFoundError:
        raise sales.PortalRecordNotFoundError("payment request", request_id) from None
    except PaymentRequestNotCancellableError:
        message = gettext(viewer.language, NOT_CANCELLABLE)
        return _detail_page(request, viewer, request_id, error=message, status_code=409)
    return redirect(f"/portal/m/{viewer.merchant_id}/requests/{request_id}")
