"""``/v1/payment-requests``: create, list, read and cancel a merchant's payment requests.

A request is paid by customers at its checkout link (``/pay/r/<id>``, also as a QR code); the
merchant hears of each payment through the signed webhooks, as for any payment. A merchant key
sees only its own requests (any other id is 404); operators and auditors read every merchant's.
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response
from sqlalchemy.orm import Session, sessionmaker

from api.auth import Principal, require_role
from api.db import get_sessions
from api.errors import error_responses
from api.idempotency import Idempotency, idempotency
from api.models import Role
from api.payment_requests.schemas import (
    PaymentRequestCreate,
    PaymentRequestDetail,
    PaymentRequestPage,
    PaymentRequestView,
    detail,
    view,
)
from common.sql.helpers import utcnow
from settlement.requests import repository, service
from settlement.requests.models import RequestStatus

router = APIRouter(prefix="/v1/payment-requests", tags=["payment requests"])

Sessions = Annotated[sessionmaker[Session], Depends(get_sessions)]
Merchant = Annotated[Principal, Depends(require_role(Role.MERCHANT))]
Reader = Annotated[Principal, Depends(require_role(Role.MERCHANT, Role.OPERATOR, Role.AUDITOR))]


def _own(principal: Principal) -> uuid.UUID | None:
    """The merchant a caller is limited to (None: operators and auditors see all)."""
    return principal.merchant_id if principal.role == Role.MERCHANT else None


@router.post(
    "",
    status_code=201,
    response_model=PaymentRequestView,
    responses=error_responses(400, 401, 403, 409, 413, 422),
    summary="Create a payment request (merchant)",
)
def create_request(
    data: PaymentRequestCreate,
    principal: Merchant,
    idem: Annotated[Idempotency, Depends(idempotency)],
    sessions: Sessions,
) -> Response:
    """A request for `amount` sen with your `reference`, paid once (or, `reusable`, any number of
    times) at `checkout_url` until `expires_in_seconds` pass. Send the customer the link or show
    the QR code (`qr_svg_url`, `qr_png_url`). With `Idempotency-Key`, a retry returns the same request.
    """
    assert principal.merchant_id is not None  # merchant keys always have one

    def effect(session: Session) -> PaymentRequestView:
        now = utcnow()
        expires = (
            None if data.expires_in_seconds is None else now + timedelta(seconds=data.expires_in_seconds)
        )
        request = service.create(
            session,
            merchant_id=principal.merchant_id,  # type: ignore[arg-type]
            amount=data.amount,
            reference=data.reference,
            reusable=data.reusable,
            expires_at=expires,
            now=now,
        )
        return view(request)

    return idem.run(sessions, effect, status_code=201)


@router.get(
    "",
    response_model=PaymentRequestPage,
    responses=error_responses(401, 403, 422),
    summary="List payment requests, newest first",
)
def list_requests(
    principal: Reader,
    sessions: Sessions,
    status: Annotated[RequestStatus | None, Query(description="Only requests in this status.")] = None,
    payment_id: Annotated[
        uuid.UUID | None,
        Query(description="Only the request this payment was made against (from a webhook)."),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> PaymentRequestPage:
    """A merchant's own requests; operators and auditors see every merchant's. With `payment_id`,
    the request a payment (named by a `payment.*` webhook) was made against."""
    with sessions.begin() as session:
        rows, next_offset = repository.page(
            session, _own(principal), status=status, limit=limit, offset=offset, payment_id=payment_id
        )
        fresh = [service.refresh(session, row.id) for row in rows]
        return PaymentRequestPage(items=[view(r) for r in fresh], next_offset=next_offset)


@router.get(
    "/{request_id}",
    response_model=PaymentRequestDetail,
    responses=error_responses(401, 403, 404, 422),
    summary="A payment request with its history and payments",
)
def get_request(request_id: uuid.UUID, principal: Reader, sessions: Sessions) -> PaymentRequestDetail:
    """The request, every status move it made and the payments made against it; another
    merchant's is 404."""
    with sessions.begin() as session:
        service.get(session, request_id, _own(principal))
        request = service.refresh(session, request_id)
        return detail(
            request, repository.history(session, request_id), service.payments_of(session, request_id)
        )


@router.post(
    "/{request_id}/cancel",
    response_model=PaymentRequestView,
    responses=error_responses(401, 403, 404, 409, 422),
    summary="Withdraw an open payment request (merchant)",
)
def cancel_request(request_id: uuid.UUID, principal: Merchant, sessions: Sessions) -> PaymentRequestView:
    """No payment can start on a cancelled request. Cancelling twice is harmless; a request being
    paid, paid or expired cannot be cancelled (409)."""
    assert principal.merchant_id is not None
    with sessions.begin() as session:
        return view(service.cancel(session, request_id, principal.merchant_id))
