"""SQL of payments: lookups, insert-or-ignore by Pi payment id, status moves with history.

The moves and the history are :class:`~settlement.payments.statemachine.StatusRecords`, shared
with payouts; a move also announces ``payment.completed`` / ``payment.failed`` to the merchant.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from common.sql.helpers import insert_or_ignore
from settlement.payments.models import Payment, PaymentStatusChange
from settlement.payments.statemachine import StatusRecords
from settlement.webhooks.announce import announce_payment

RECORDS = StatusRecords(Payment, PaymentStatusChange, "payment_id", announce_payment)

get = RECORDS.get
move = RECORDS.move
history = RECORDS.history


def by_pi_payment_id(session: Session, pi_payment_id: str) -> Payment | None:
    """The payment recorded for a Pi platform payment id."""
    return session.scalars(select(Payment).where(Payment.pi_payment_id == pi_payment_id)).one_or_none()


def by_txid(session: Session, txid: str) -> Payment | None:
    """The payment a Pi transaction is recorded for."""
    return session.scalars(select(Payment).where(Payment.txid == txid)).one_or_none()


def insert_if_new(session: Session, values: dict[str, Any]) -> bool:
    """Inserts a payment unless its Pi payment id is already recorded; True if inserted."""
    return insert_or_ignore(session, Payment.__table__, values, ["pi_payment_id"])  # type: ignore[arg-type]
