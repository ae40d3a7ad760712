"""Payment requests: create, read, withdraw, and the guarded moves the hosted checkout makes.

A one-use request moves ``open -> processing`` when a customer's payment is approved against it
(:func:`claim`: one conditional UPDATE that also requires it unexpired, so two customers paying at
once cannot both win), ``processing -> paid`` once that payment is verified and credited, and back
``processing -> open`` if the payment lapsed or was refunded before any credit. A reusable request
stays ``open``; each payment is linked to it through the hosted quote it was priced at. Expiry is
applied when a request is read (:func:`refresh`), as a recorded move like any other.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime

from sqlalchemy import CursorResult, and_, or_, select, update
from sqlalchemy.orm import Session

from common.errors import ValidationError
from common.sql.helpers import utcnow
from settlement.payments.models import Payment, PaymentStatus
from settlement.requests import repository
from settlement.requests.errors import (
    PaymentRequestCancelledError,
    PaymentRequestExpiredError,
    PaymentRequestInProgressError,
    PaymentRequestNotCancellableError,
    PaymentRequestNotFoundError,
    PaymentRequestPaidError,
)
from settlement.requests.models import HostedQuote, PaymentRequest, PaymentRequestStatusChange
from settlement.requests.models import RequestStatus as R

CREDITED = frozenset({PaymentStatus.PENDING_STELLAR, PaymentStatus.COMPLETED})
"""Payment statuses in which the customer's Pi is verified and credited: the request is paid."""
RELEASED = frozenset({PaymentStatus.EXPIRED, PaymentStatus.REFUNDED})
"""Payment statuses that end without a credit: the request can be paid again (so does ``error``
when no Pi transaction was ever recorded for the payment; with one, an operator decides)."""
MAX_AMOUNT_SEN = 10**15
"""The largest request (ten trillion Rupiah): far above any sale, far below what a quote can carry."""

Clock = Callable[[], datetime]


def create(
    session: Session,
    *,
    merchant_id: uuid.UUID,
    amount: int,
    reference: str,
    reusable: bool,
    expires_at: datetime | None,
    now: datetime | None = None,
) -> PaymentRequest:
    """Records an ``open`` request.

    Raises:
        ValidationError: a non-positive or huge amount, or an expiry not in the future.
    """
    now = now or utcnow()
    if not 0 < amount <= MAX_AMOUNT_SEN:
        raise ValidationError(f"amount must be between 1 and {MAX_AMOUNT_SEN} sen", amount=amount)
    if expires_at is not None and expires_at <= now:
        raise ValidationError("expires_at must be in the future", expires_at=expires_at.isoformat())
    request = PaymentRequest(
        id=uuid.uuid4(),
        merchant_id=merchant_id,
        amount=amount,
        reference=reference,
        reusable=reusable,
        expires_at=expires_at,
        status=R.OPEN,
        payment_id=None,
        created_at=now,
        updated_at=now,
    )
    session.add(request)
    session.add(
        PaymentRequestStatusChange(
            request_id=request.id, from_status="", to_status=R.OPEN, reason="created by the merchant", at=now
        )
    )
    session.flush()
    return request


def get(session: Session, request_id: uuid.UUID, merchant_id: uuid.UUID | None = None) -> PaymentRequest:
    """The request (``merchant_id``: only if it is that merchant's), as committed now.

    Raises:
        PaymentRequestNotFoundError: none, or another merchant's.
    """
    request = repository.get(session, request_id, fresh=True)
    if request is None or (merchant_id is not None and request.merchant_id != merchant_id):
        raise PaymentRequestNotFoundError(request_id)
    return request


def refresh(session: Session, request_id: uuid.UUID, now: datetime | None = None) -> PaymentRequest:
    """The request after the moves its payment and its expiry call for, made now.

    ``processing`` becomes ``paid`` when its payment is credited, ``open`` when that payment
    lapsed or was refunded; ``open`` past its expiry becomes ``expired``. Each move is conditional,
    so concurrent readers make it once.

    Raises:
        PaymentRequestNotFoundError: no such request.
    """
    now = now or utcnow()
    request = get(session, request_id)
    if request.status == R.PROCESSING and request.payment_id is not None:
        row = session.execute(
            select(Payment.status, Payment.txid).where(Payment.id == request.payment_id)
        ).one()
        status = row.status
        if status == PaymentStatus.ERROR and row.txid is None:
            status = PaymentStatus.EXPIRED  # refused before any Pi transaction: nothing moved
        if status in CREDITED:
            reason = f"payment {request.payment_id} verified and credited"
            repository.move(session, request.id, R.PROCESSING, R.PAID, reason, now, {})
        elif status in RELEASED:
            reason = f"payment {request.payment_id} ended {status} without a credit"
            repository.move(session, request.id, R.PROCESSING, R.OPEN, reason, now, {"payment_id": None})
        request = get(session, request_id)
    if request.status == R.OPEN and request.expires_at is not None and request.expires_at <= now:
        repository.move(session, request.id, R.OPEN, R.EXPIRED, "its expiry passed", now, {})
        request = get(session, request_id)
    return request


def check_payable(request: PaymentRequest, now: datetime) -> None:
    """Raises unless a customer may start paying ``request`` now (as read; :func:`claim` decides).

    Raises:
        PaymentRequestPaidError, PaymentRequestInProgressError, PaymentRequestExpiredError,
        PaymentRequestCancelledError: why it cannot be paid.
    """
    if request.status == R.PAID:
        raise PaymentRequestPaidError(request.id)
    if request.status == R.PROCESSING:
        raise PaymentRequestInProgressError(request.id)
    if request.status == R.CANCELLED:
        raise PaymentRequestCancelledError(request.id)
    if request.status == R.EXPIRED or (request.expires_at is not None and request.expires_at <= now):
        raise PaymentRequestExpiredError(request.id, request.expires_at)


def claim(
    session: Session, request_id: uuid.UUID, payment_id: uuid.UUID, now: datetime | None = None
) -> None:
    """Lets ``payment_id`` pay the request, in the caller's transaction (before it approves).

    A one-use request moves ``open -> processing`` holding the payment, in one conditional UPDATE
    that also requires it unexpired: of concurrent claims exactly one matches. A reusable request
    only has to be open and unexpired (the same conditional UPDATE, leaving it ``open``). A
    payment already holding the request claims it again harmlessly (a repeated callback).

    Raises:
        PaymentRequestNotFoundError: no such request.
        PaymentRequestPaidError, PaymentRequestInProgressError, PaymentRequestExpiredError,
        PaymentRequestCancelledError: the claim lost, and why.
    """
    now = now or utcnow()
    request = refresh(session, request_id, now)
    if not request.reusable and request.payment_id == payment_id and request.status != R.OPEN:
        return  # this very payment holds (or paid) it already
    unexpired = or_(PaymentRequest.expires_at.is_(None), PaymentRequest.expires_at > now)
    target = R.OPEN if request.reusable else R.PROCESSING
    values: dict[str, object] = {"status": target, "updated_at": now}
    if not request.reusable:
        values["payment_id"] = payment_id
    statement = (
        update(PaymentRequest)
        .where(and_(PaymentRequest.id == request_id, PaymentRequest.status == R.OPEN, unexpired))
        .values(**values)
    )
    result = session.execute(statement)
    assert isinstance(result, CursorResult)
    if result.rowcount != 1:
        check_payable(get(session, request_id), now)
        raise PaymentRequestInProgressError(request_id)  # lost to a move that left it open again
    if not request.reusable:
        session.add(
            PaymentRequestStatusChange(
                request_id=request_id,
                from_status=R.OPEN,
                to_status=R.PROCESSING,
                reason=f"payment {payment_id} approved against it",
                at=now,
            )
        )
        session.flush()


def cancel(
    session: Session, request_id: uuid.UUID, merchant_id: uuid.UUID, now: datetime | None = None
) -> PaymentRequest:
    """Withdraws an open request (``open -> cancelled``); cancelling twice is harmless.

    Raises:
        PaymentRequestNotFoundError: none, or another merchant's.
        PaymentRequestNotCancellableError: it is being paid, paid or expired.
    """
    now = now or utcnow()
    request = get(session, request_id, merchant_id)
    request = refresh(session, request.id, now)
    if request.status == R.CANCELLED:
        return request
    if not repository.move(session, request.id, R.OPEN, R.CANCELLED, "cancelled by the merchant", now, {}):
        raise PaymentRequestNotCancellableError(request.id, get(session, request_id).status)
    return get(session, request_id)


def payments_of(session: Session, request_id: uuid.UUID) -> list[Payment]:
    """Every payment made against the request (through its hosted quotes), newest first."""
    statement = (
        select(Payment)
        .join(HostedQuote, HostedQuote.quote_id == Payment.quote_id)
        .where(HostedQuote.request_id == request_id)
        .order_by(Payment.created_at.desc())
    )
    return list(session.scalars(statement))


def record_hosted_quote(
    session: Session,
    *,
    quote_id: uuid.UUID,
    merchant_id: uuid.UUID,
    amount: int,
    request_id: uuid.UUID | None,
    now: datetime | None = None,
) -> HostedQuote:
    """Records which merchant (and request) a quote made by the hosted checkout prices."""
    row = HostedQuote(
        quote_id=quote_id,
        merchant_id=merchant_id,
        request_id=request_id,
        amount=amount,
        created_at=now or utcnow(),
    )
    session.add(row)
    session.flush()
    return row
