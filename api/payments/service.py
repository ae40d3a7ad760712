"""Payments as a caller may see and change them: ownership, listing, creation and cancelling.

A merchant key only ever reaches payments whose ``merchant_id`` is its merchant; any other id
answers exactly like an id that does not exist (404), so ids cannot be probed.
"""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.auth import Principal
from api.quotes.models import QuoteOwner
from common.errors import ConflictError, NotFoundError
from settlement.payments import repository
from settlement.payments.errors import PaymentNotFoundError
from settlement.payments.models import Payment, PaymentStatus
from settlement.payments.service import PaymentService
from settlement.quotes.errors import QuoteAlreadyUsedError, QuoteNotFoundError
from settlement.quotes.models import Quote

CANCELLABLE = (PaymentStatus.INCOMPLETE, PaymentStatus.PENDING_USER_TRANSFER_START)


class PiPaymentNotFoundError(NotFoundError):
    """No payment is recorded for this Pi payment id (or not one the caller may see)."""

    code = "pi_payment_not_found"

    def __init__(self, pi_payment_id: str) -> None:
        super().__init__(
            f"no payment is recorded for Pi payment {pi_payment_id!r}", pi_payment_id=pi_payment_id
        )


class PaymentNotCancellableError(ConflictError):
    """The customer's Pi is already on its way (or the payment is finished): it cannot be cancelled."""

    code = "payment_not_cancellable"

    def __init__(self, payment: Payment) -> None:
        super().__init__(
            f"payment {payment.id} is {payment.status}; only a payment that has not received its Pi "
            f"transaction ({', '.join(CANCELLABLE)}) can be cancelled",
            payment_id=str(payment.id),
            status=payment.status,
        )


def owner_key(principal: Principal) -> str:
    """The ``merchant_id`` a merchant's payments are recorded under (its merchant's UUID)."""
    assert principal.merchant_id is not None  # merchant keys always have one (a CHECK constraint)
    return str(principal.merchant_id)


def _sees(principal: Principal, payment: Payment) -> bool:
    return principal.merchant_id is None or payment.merchant_id == str(principal.merchant_id)


def create(
    session: Session, payments: PaymentService, principal: Principal, quote_id: uuid.UUID, pi_payment_id: str
) -> Payment:
    """Records the merchant's Pi payment at one of its own quotes (``incomplete``).

    Raises:
        QuoteNotFoundError: no such quote, or another caller's.
        QuoteExpiredError, QuoteAlreadyUsedError: the quote cannot pay this payment.
        PaymentConflictError: the Pi payment id is recorded with another quote or merchant.
    """
    owner = session.get(QuoteOwner, quote_id)
    if owner is None or owner.merchant_id != principal.merchant_id:
        raise QuoteNotFoundError(quote_id)
    merchant_id = owner_key(principal)
    try:
        return payments.create(
            session, pi_payment_id=pi_payment_id, merchant_id=merchant_id, quote_id=quote_id
        )
    except QuoteAlreadyUsedError:
        # A concurrent delivery of the same callback took the quote first and has committed
        # (the quote's row lock made this one wait for it): that payment is the answer.
        existing = repository.by_pi_payment_id(session, pi_payment_id)
        if existing is None or existing.quote_id != quote_id or existing.merchant_id != merchant_id:
            raise
        return existing


def amount_due(session: Session, principal: Principal, quote_id: uuid.UUID, pi_payment_id: str) -> int | None:
    """Pi minor units the Pi payment must carry (its quote's), or None if it is recorded already.

    Raises:
        QuoteNotFoundError: no such quote, or another caller's.
    """
    owner = session.get(QuoteOwner, quote_id)
    if owner is None or owner.merchant_id != principal.merchant_id:
        raise QuoteNotFoundError(quote_id)
    if repository.by_pi_payment_id(session, pi_payment_id) is not None:
        return None
    quote = session.get(Quote, quote_id)
    return None if quote is None else int(quote.sell_amount)


def visible(session: Session, principal: Principal, payment_id: uuid.UUID) -> Payment:
    """The payment, if the caller may see it.

    Raises:
        PaymentNotFoundError: none, or another merchant's.
    """
    payment = session.get(Payment, payment_id)
    if payment is None or not _sees(principal, payment):
        raise PaymentNotFoundError(payment_id)
    return payment


def visible_by_pi_id(session: Session, principal: Principal, pi_payment_id: str) -> Payment:
    """The payment recorded for a Pi payment id, if the caller may see it.

    Raises:
        PiPaymentNotFoundError: none, or another merchant's.
    """
    payment = session.scalars(select(Payment).where(Payment.pi_payment_id == pi_payment_id)).one_or_none()
    if payment is None or not _sees(principal, payment):
        raise PiPaymentNotFoundError(pi_payment_id)
    return payment


def page(
    session: Session, principal: Principal, *, status: PaymentStatus | None, limit: int, offset: int
) -> tuple[list[Payment], int | None]:
    """A page of the payments the caller may see, newest first, and the next page's offset."""
    statement = select(Payment)
    if principal.merchant_id is not None:
        statement = statement.where(Payment.merchant_id == str(principal.merchant_id))
    if status is not None:
        statement = statement.where(Payment.status == str(status))
    statement = (
        statement.order_by(Payment.created_at.desc(), Payment.id.desc()).offset(offset).limit(limit + 1)
    )
    rows = list(session.scalars(statement))
    more = len(rows) > limit
    return rows[:limit], (offset + limit if more else None)


def check_cancellable(payment: Payment) -> None:
    """Refuses to cancel a payment whose Pi transaction is recorded, or that ended otherwise.

    An ``expired`` payment is accepted (cancelling twice is harmless).

    Raises:
        PaymentNotCancellableError: the payment is past waiting for its Pi transaction.
    """
    if payment.status != PaymentStatus.EXPIRED and payment.status not in CANCELLABLE:
        raise PaymentNotCancellableError(payment)
