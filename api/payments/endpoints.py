"""``/v1/payments``: create a payment from a Pi callback, cancel it, and list and read payments.

Work that talks to the Pi platform or the chain is queued (202): the response carries the
payment in its current status, and ``GET /v1/payments/{id}`` shows it moving on, with history.
"""

from __future__ import annotations

import json
import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response
from sqlalchemy.orm import Session, sessionmaker

from api.auth import Principal, require_role
from api.db import get_sessions
from api.errors import error_responses
from api.idempotency import Idempotency, idempotency
from api.merchants import service as merchants
from api.models import Role
from api.payments import service
from api.payments.precheck import PiPaymentCheck
from api.payments.schemas import PaymentCreateRequest, PaymentDetail, PaymentPage, PaymentView, view
from settlement.payments.models import PaymentStatus
from settlement.payments.schemas import StatusChangeRead
from settlement.payments.service import PaymentService
from settlement.workers.queue import TaskQueue
from settlement.workers.steps import APPROVE, EXPIRE

router = APIRouter(prefix="/v1/payments", tags=["payments"])

Sessions = Annotated[sessionmaker[Session], Depends(get_sessions)]
Merchant = Annotated[Principal, Depends(require_role(Role.MERCHANT))]
Reader = Annotated[Principal, Depends(require_role(Role.MERCHANT, Role.OPERATOR, Role.AUDITOR))]


def get_payment_service(request: Request) -> PaymentService:
    """The app's payment service."""
    payments: PaymentService = request.app.state.payments
    return payments


def get_task_queue(request: Request) -> TaskQueue:
    """Where the app queues settlement tasks (Celery, or the in-process runner)."""
    queue: TaskQueue = request.app.state.tasks
    return queue


def get_pi_check(request: Request) -> PiPaymentCheck | None:
    """The app's check of Pi payments before they are recorded (None: not configured)."""
    check: PiPaymentCheck | None = getattr(request.app.state, "pi_check", None)
    return check


Payments = Annotated[PaymentService, Depends(get_payment_service)]
Tasks = Annotated[TaskQueue, Depends(get_task_queue)]


def enqueue_for(response: Response, queue: TaskQueue, task: str) -> None:
    """Queues ``task`` for the payment in ``response`` (a first answer or an idempotent replay).

    Queuing runs after the payment is committed; if it fails or the process dies first, the
    sweep re-enqueues the step of a payment left in its status, so nothing is lost.
    """
    if response.status_code < 300:
        queue.enqueue(task, str(json.loads(bytes(response.body))["id"]))


@router.post(
    "",
    status_code=202,
    response_model=PaymentView,
    responses=error_responses(400, 401, 403, 404, 409, 413, 422),
    summary="Record a Pi payment and queue its approval (merchant)",
)
def create_payment(
    data: PaymentCreateRequest,
    principal: Merchant,
    idem: Annotated[Idempotency, Depends(idempotency)],
    sessions: Sessions,
    payments: Payments,
    tasks: Tasks,
    pi_check: Annotated[PiPaymentCheck | None, Depends(get_pi_check)],
) -> Response:
    """Forward the Pi SDK's `onReadyForServerApproval` here with the payment's quote.

    The payment is recorded `incomplete` at the quote and its approval on the Pi platform is
    queued. The same Pi payment id again returns the same payment (Pi delivers callbacks more
    than once); with `Idempotency-Key`, the same key and body replay the first response and the
    same key with another body is 409.

    The Pi payment must be bound to this merchant and quote: `Pi.createPayment` is called with
    `metadata: {"merchant": <merchant id>, "quote": <quote id>}`. When the Pi network is
    configured, Pi's record of the payment is read first and one whose metadata names another
    merchant or quote, or none (`pi_payment_not_bound`), or that does not pay the quote's amount to
    the platform (`pi_payment_mismatch`), is refused (422) unrecorded. A Pi payment recorded for
    another merchant is refused the same way; the approval step checks the binding again.
    """
    if pi_check is not None:
        with sessions() as session:
            assert principal.merchant_id is not None  # merchant keys always have one
            merchants.ensure_active(session, principal.merchant_id)  # refused before Pi is asked
            binding = service.binding_due(session, principal, data.quote_id, data.pi_payment_id)
        if binding is not None:
            pi_check(data.pi_payment_id, binding)

    def effect(session: Session) -> PaymentView:
        payment = service.create(session, payments, principal, data.quote_id, data.pi_payment_id)
        return view(payment, queued=APPROVE)

    response = idem.run(sessions, effect, status_code=202)
    enqueue_for(response, tasks, APPROVE)
    return response


@router.get(
    "",
    response_model=PaymentPage,
    responses=error_responses(401, 403, 422),
    summary="List payments, newest first",
)
def list_payments(
    principal: Reader,
    sessions: Sessions,
    status: Annotated[PaymentStatus | None, Query(description="Only payments in this status.")] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> PaymentPage:
    """A merchant's own payments; operators and auditors see every merchant's."""
    with sessions() as session:
        rows, next_offset = service.page(session, principal, status=status, limit=limit, offset=offset)
        return PaymentPage(items=[view(p) for p in rows], next_offset=next_offset)


@router.get(
    "/{payment_id}",
    response_model=PaymentDetail,
    responses=error_responses(401, 403, 404, 422),
    summary="A payment with its status history",
)
def get_payment(
    payment_id: uuid.UUID, principal: Reader, sessions: Sessions, payments: Payments
) -> PaymentDetail:
    """The payment and every status move it made, with the reason of each; another merchant's is 404."""
    with sessions() as session:
        payment = service.visible(session, principal, payment_id)
        history = [StatusChangeRead.model_validate(h) for h in payments.history(session, payment.id)]
        return PaymentDetail(**view(payment).model_dump(), history=history)


@router.post(
    "/{payment_id}/cancel",
    status_code=202,
    response_model=PaymentView,
    responses=error_responses(401, 403, 404, 409, 422),
    summary="Cancel a payment that has not been paid (merchant)",
)
def cancel_payment(
    payment_id: uuid.UUID, principal: Merchant, sessions: Sessions, tasks: Tasks
) -> PaymentView:
    """Queues the cancellation of a payment whose Pi transaction has not arrived (`incomplete` or
    `pending_user_transfer_start`): it is cancelled on the Pi platform first, so the customer can
    no longer pay it, then `expired`. If the customer's transaction got there first, the payment
    goes on to settle instead. Cancelling twice is harmless; a payment whose transaction is
    recorded cannot be cancelled (409)."""
    with sessions() as session:
        payment = service.visible(session, principal, payment_id)
    service.check_cancellable(payment)
    if payment.status != PaymentStatus.EXPIRED:
        tasks.enqueue(EXPIRE, str(payment.id))
        return view(payment, queued=EXPIRE)
    return view(payment)
