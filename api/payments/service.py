"""Payments as a caller may see and change them: ownership, listing, creation and cancelling.

A merchant key only ever reaches payments whose ``merchant_id`` is its merchant; any other id
answers exactly like an id that does not exist (404), so ids cannot be probed. A Pi payment id
recorded for another merchant is refused exactly like a Pi payment whose metadata names another
merchant (``pi_payment_not_bound``), without a word about the other merchant or its payment.
"""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.auth import Principal
from api.merchants import service as merchants
from api.quotes.models import QuoteOwner
from common.errors import ConflictError, NotFoundError
from settlement.flow.binding import Binding
from settlement.flow.errors import PiPaymentNotBoundError
from settlement.payments import repository
from settlement.payments.errors import PaymentConflictError, PaymentNotFoundError
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


def _not_theirs(pi_payment_id: str, principal: Principal) -> PiPaymentNotBoundError:
    """The refusal of a Pi payment recorded for another merchant: the same words as a Pi payment
    whose metadata names another merchant, so neither reveals anything about the other."""
    return PiPaymentNotBoundError(
        pi_payment_id,
        f"Pi payment {pi_payment_id} is not bound to merchant {owner_key(principal)}: "
        "Pi.createPayment's metadata must name it as 'merchant'",
    )


def _owned_quote(session: Session, principal: Principal, quote_id: uuid.UUID) -> None:
    owner = session.get(QuoteOwner, quote_id)
    if owner is None or owner.merchant_id != principal.merchant_id:
        raise QuoteNotFoundError(quote_id)


def create(
    session: Session, payments: PaymentService, principal: Principal, quote_id: uuid.UUID, pi_payment_id: str
) -> Payment:
    """Records the merchant's Pi payment at one of its own quotes (``incomplete``).

    Raises:
        QuoteNotFoundError: no such quote, or another caller's.
        QuoteExpiredError, QuoteAlreadyUsedError: the quote cannot pay this payment.
        PiPaymentNotBoundError: the Pi payment id is recorded for another merchant.
        PaymentConflictError: the Pi payment id is recorded with another of this merchant's quotes.
        MerchantSuspendedError: the merchant is suspended (nothing is recorded).
    """
    assert principal.merchant_id is not None  # merchant keys always have one (a CHECK constraint)
    merchants.ensure_active(session, principal.merchant_id)
    _owned_quote(session, principal, quote_id)
    merchant_id = owner_key(principal)
    recorded = repository.by_pi_payment_id(session, pi_payment_id)
    if recorded is not None and recorded.merchant_id != merchant_id:
        raise _not_theirs(pi_payment_id, principal)
    try:
        return payments.create(
            session, pi_payment_id=pi_payment_id, merchant_id=merchant_id, quote_id=quote_id
        )
    except PaymentConflictError:
        # Recorded meanwhile (or before) with another quote or merchant: another merchant's is
        # refused like any Pi payment not bound to this one; our own other quote stays a conflict.
        existing = repository.by_pi_payment_id(session, pi_payment_id)
        if existing is not None and existing.merchant_id != merchant_id:
            raise _not_theirs(pi_payment_id, principal) from None
        raise
    except QuoteAlreadyUsedError:
        # A concurrent delivery of the same callback took the quote first and has committed
        # (the quote's row lock made this one wait for it): that payment is the answer.
        existing = repository.by_pi_payment_id(session, pi_payment_id)
        if existing is None or existing.quote_id != quote_id or existing.merchant_id != merchant_id:
            raise
        return existing


def binding_due(
    session: Session, principal: Principal, quote_id: uuid.UUID, pi_payment_id: str
) -> Binding | None:
    """What Pi's record of the payment must bind it to (this merchant, this quote, the quote's
    amount), or None when this merchant already recorded it at this quote (a repeated callback).

    A Pi payment recorded for another merchant still gets a binding: checking it on Pi refuses it
    (its metadata names that merchant), and :func:`create` refuses it in the same words if not.

    Raises:
        QuoteNotFoundError: no such quote, or another caller's.
    """
    _owned_quote(session, principal, quote_id)
    merchant_id = owner_key(principal)
    recorded = repository.by_pi_payment_id(session, pi_payment_id)
    if recorded is not None and recorded.merchant_id == merchant_id and recorded.quote_id == quote_id:
        return None
    quote = session.get(Quote, quote_id)
    if quote is None:
        raise QuoteNotFoundError(quote_id)
    return Binding(merchant_id=merchant_id, quote_id=quote_id, amount=int(quote.sell_amount))


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
