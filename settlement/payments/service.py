"""Recording Pi payments and moving them through their status machine.

Every move is a conditional UPDATE on the expected status plus a history row, in the caller's
transaction (the caller commits; a failure anywhere rolls both back). Moves say where they come
from: ``transition(session, id, from_status, to_status, reason)``. A loser of a race, or a caller
with a stale view, gets :class:`InvalidTransitionError` naming the status that is actually there.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from common.errors import ValidationError
from common.sql.helpers import utcnow
from settlement.payments import repository
from settlement.payments.errors import (
    InvalidTransitionError,
    PaymentConflictError,
    PaymentNotFoundError,
    TxidAlreadyUsedError,
)
from settlement.payments.models import Payment, PaymentStatus, PaymentStatusChange
from settlement.payments.statemachine import StateMachine
from settlement.quotes.service import QuoteService

S = PaymentStatus

PAYMENT_MACHINE: StateMachine[PaymentStatus] = StateMachine(
    entity="payment",
    initial=S.INCOMPLETE,
    moves={
        S.INCOMPLETE: frozenset({S.PENDING_USER_TRANSFER_START, S.EXPIRED, S.ERROR}),
        S.PENDING_USER_TRANSFER_START: frozenset({S.PENDING_ANCHOR, S.EXPIRED, S.ERROR}),
        S.PENDING_ANCHOR: frozenset({S.PENDING_STELLAR, S.REFUNDED, S.ERROR}),
        S.PENDING_STELLAR: frozenset({S.COMPLETED, S.ERROR}),
        # An operator either retries from verification (verifying and minting are idempotent by
        # txid and payment id) or returns the Pi.
        S.ERROR: frozenset({S.PENDING_ANCHOR, S.REFUNDED}),
        S.COMPLETED: frozenset(),
        S.EXPIRED: frozenset(),
        S.REFUNDED: frozenset(),
    },
)

# Columns a move may set besides status; anything else is refused.
MOVE_COLUMNS = frozenset({"txid", "error_reason"})


class PaymentService:
    """Payments and their moves.

    Args:
        quotes: Hands each payment its firm quote.
        clock: Current UTC time.
    """

    def __init__(self, quotes: QuoteService, clock: Callable[[], datetime] = utcnow) -> None:
        self.quotes = quotes
        self.clock = clock

    def create(
        self, session: Session, *, pi_payment_id: str, merchant_id: str, quote_id: uuid.UUID
    ) -> Payment:
        """Records a Pi payment at its quote, in status ``incomplete``.

        Idempotent by ``pi_payment_id``: the Pi platform's duplicate callbacks return the payment
        already recorded.

        Raises:
            ValidationError: empty ids.
            PaymentConflictError: the Pi payment id is recorded with another merchant or quote.
            QuoteNotFoundError, QuoteExpiredError, QuoteAlreadyUsedError: the quote cannot be used.
        """
        if not pi_payment_id or not merchant_id:
            raise ValidationError("a payment needs a Pi payment id and a merchant id")
        existing = repository.by_pi_payment_id(session, pi_payment_id)
        if existing is not None:
            return _same_or_conflict(existing, merchant_id, quote_id)
        payment_id = uuid.uuid4()
        quote = self.quotes.use(session, quote_id, payment_id)
        now = self.clock()
        payment = repository.insert_new(
            session,
            {
                "id": payment_id,
                "pi_payment_id": pi_payment_id,
                "merchant_id": merchant_id,
                "quote_id": quote.id,
                "pi_amount": quote.sell_amount,
                "fee_pi": quote.fee_total,
                "idr_amount": quote.buy_amount,
                "status": str(PAYMENT_MACHINE.initial),
                "created_at": now,
                "updated_at": now,
            },
        )
        if payment is None:  # a concurrent request recorded the same Pi payment first
            existing = repository.by_pi_payment_id(session, pi_payment_id)
            assert existing is not None
            return _same_or_conflict(existing, merchant_id, quote_id)
        return payment

    def get(self, session: Session, payment_id: uuid.UUID) -> Payment:
        """The payment with ``payment_id``.

        Raises:
            PaymentNotFoundError: none.
        """
        payment = repository.get(session, payment_id)
        if payment is None:
            raise PaymentNotFoundError(payment_id)
        return payment

    def transition(
        self,
        session: Session,
        payment_id: uuid.UUID,
        from_status: PaymentStatus,
        to_status: PaymentStatus,
        reason: str,
        **values: Any,
    ) -> Payment:
        """Moves a payment from ``from_status`` to ``to_status`` and records why.

        Args:
            values: Further columns to set in the same UPDATE (``txid``, ``error_reason``).

        Raises:
            InvalidTransitionError: the move is illegal, or the payment is not in ``from_status``.
            PaymentNotFoundError: no such payment.
        """
        PAYMENT_MACHINE.check_request(payment_id, from_status, to_status, reason, values, MOVE_COLUMNS)
        moved = repository.move_and_get(
            session, payment_id, str(from_status), str(to_status), reason, self.clock(), values
        )
        if moved is not None:
            return moved
        # Not moved: read what is there to say why (the rare path; the UPDATE was the guard).
        payment = repository.get(session, payment_id, fresh=True)
        if payment is None:
            raise PaymentNotFoundError(payment_id)
        raise InvalidTransitionError("payment", payment_id, from_status, to_status, payment.status)

    def record_txid(self, session: Session, payment_id: uuid.UUID, txid: str) -> Payment:
        """Records the customer's Pi transaction before it is verified (``-> pending_anchor``).

        The txid is unique across payments, so one Pi transaction can never pay twice. Recording
        the same txid again for the same payment (a duplicate callback) returns the payment.

        Raises:
            TxidAlreadyUsedError: the txid is recorded for another payment. If a concurrent
                request wins the race, the database's unique constraint raises it here too, and
                the caller's transaction must be rolled back.
            InvalidTransitionError: the payment is not waiting for its transaction.
        """
        if not txid:
            raise ValidationError("a txid cannot be empty")
        holder = repository.by_txid(session, txid)
        if holder is not None:
            if holder.id == payment_id:
                return holder
            raise TxidAlreadyUsedError(txid, payment_id, holder.id)
        try:
            return self.transition(
                session,
                payment_id,
                S.PENDING_USER_TRANSFER_START,
                S.PENDING_ANCHOR,
                f"Pi transaction {txid} received",
                txid=txid,
            )
        except IntegrityError as exc:
            raise TxidAlreadyUsedError(txid, payment_id, None) from exc

    def fail(
        self, session: Session, payment_id: uuid.UUID, from_status: PaymentStatus, error_reason: str
    ) -> Payment:
        """Moves a payment to ``error`` with the reason an operator will read."""
        return self.transition(
            session, payment_id, from_status, S.ERROR, error_reason, error_reason=error_reason
        )

    def history(self, session: Session, payment_id: uuid.UUID) -> list[PaymentStatusChange]:
        """The payment's status moves, oldest first."""
        return repository.history(session, payment_id)


def _same_or_conflict(existing: Payment, merchant_id: str, quote_id: uuid.UUID) -> Payment:
    if existing.merchant_id != merchant_id or existing.quote_id != quote_id:
        raise PaymentConflictError(existing.pi_payment_id, existing.id)
    return existing
