"""SQL of payment requests: lookups, pages and status moves with history."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.orm import Session

from settlement.payments.models import Payment
from settlement.payments.statemachine import StatusRecords
from settlement.requests.models import HostedQuote, PaymentRequest, PaymentRequestStatusChange


def _no_announcement(session: Session, request_id: uuid.UUID, status: str) -> None:
    """Payment requests announce nothing themselves: the merchant hears of the payment instead."""


RECORDS = StatusRecords(PaymentRequest, PaymentRequestStatusChange, "request_id", _no_announcement)

get = RECORDS.get
move = RECORDS.move
history = RECORDS.history


def page(
    session: Session,
    merchant_id: uuid.UUID | None,
    *,
    status: str | None,
    limit: int,
    offset: int,
    payment_id: uuid.UUID | None = None,
) -> tuple[list[PaymentRequest], int | None]:
    """A page of requests (one merchant's, or all), newest first, and the next page's offset.

    ``payment_id`` keeps the request that payment was made against (what a merchant looks up when
    a ``payment.*`` webhook arrives).
    """
    statement = select(PaymentRequest)
    if merchant_id is not None:
        statement = statement.where(PaymentRequest.merchant_id == merchant_id)
    if status is not None:
        statement = statement.where(PaymentRequest.status == status)
    if payment_id is not None:
        statement = (
            statement.join(HostedQuote, HostedQuote.request_id == PaymentRequest.id)
            .join(Payment, Payment.quote_id == HostedQuote.quote_id)
            .where(Payment.id == payment_id)
        )
    statement = (
        statement.order_by(PaymentRequest.created_at.desc(), PaymentRequest.id.desc())
        .offset(offset)
        .limit(limit + 1)
    )
    rows = list(session.scalars(statement))
    return rows[:limit], (offset + limit if len(rows) > limit else None)


def hosted_quote(session: Session, quote_id: uuid.UUID) -> HostedQuote | None:
    """The checkout's record of a quote it made, if it made it."""
    return session.get(HostedQuote, quote_id)
