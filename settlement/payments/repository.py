"""SQL of payments: lookups, insert-or-ignore by Pi payment id, status moves with history."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from common.sql.helpers import insert_or_ignore
from settlement.payments.models import Payment, PaymentStatusChange
from settlement.payments.statemachine import move_with_history
from settlement.webhooks.announce import announce_payment


def get(session: Session, payment_id: uuid.UUID, *, fresh: bool = False) -> Payment | None:
    """The payment with ``payment_id``; ``fresh`` re-reads it from the database."""
    return session.get(Payment, payment_id, populate_existing=fresh)


def by_pi_payment_id(session: Session, pi_payment_id: str) -> Payment | None:
    """The payment recorded for a Pi platform payment id."""
    return session.scalars(select(Payment).where(Payment.pi_payment_id == pi_payment_id)).one_or_none()


def by_txid(session: Session, txid: str) -> Payment | None:
    """The payment a Pi transaction is recorded for."""
    return session.scalars(select(Payment).where(Payment.txid == txid)).one_or_none()


def insert_if_new(session: Session, values: dict[str, Any]) -> bool:
    """Inserts a payment unless its Pi payment id is already recorded; True if inserted."""
    return insert_or_ignore(session, Payment.__table__, values, ["pi_payment_id"])  # type: ignore[arg-type]


def move(
    session: Session,
    payment_id: uuid.UUID,
    from_status: str,
    to_status: str,
    reason: str,
    now: datetime,
    values: dict[str, Any],
) -> bool:
    """Conditionally moves the status and, if it moved, writes the history row and the merchant's
    webhook event (if the move is announced) in the same transaction; True if it moved."""
    row = PaymentStatusChange(
        payment_id=payment_id, from_status=from_status, to_status=to_status, reason=reason, at=now
    )
    table = Payment.__table__
    if not move_with_history(session, table, payment_id, from_status, to_status, now, values, row):  # type: ignore[arg-type]
        return False
    announce_payment(session, payment_id, to_status)
    return True


def history(session: Session, payment_id: uuid.UUID) -> list[PaymentStatusChange]:
    """Every status move of a payment, in order."""
    statement = (
        select(PaymentStatusChange)
        .where(PaymentStatusChange.payment_id == payment_id)
        .order_by(PaymentStatusChange.id)
    )
    return list(session.scalars(statement))
