"""SQL of payments: lookups, insert-or-ignore by Pi payment id, status moves with history.

The moves and the history are :class:`~settlement.payments.statemachine.StatusRecords`, shared
with payouts; a move also announces ``payment.completed`` / ``payment.failed`` to the merchant.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from settlement.payments.models import Payment, PaymentStatusChange
from settlement.payments.statemachine import StatusRecords
from settlement.webhooks.announce import announce_payment

RECORDS = StatusRecords(Payment, PaymentStatusChange, "payment_id", announce_payment)

get = RECORDS.get
move = RECORDS.move
move_and_get = RECORDS.move_and_get
history = RECORDS.history


def by_pi_payment_id(session: Session, pi_payment_id: str) -> Payment | None:
    """The payment recorded for a Pi platform payment id."""
    return session.scalars(select(Payment).where(Payment.pi_payment_id == pi_payment_id)).one_or_none()


def by_txid(session: Session, txid: str) -> Payment | None:
    """The payment a Pi transaction is recorded for."""
    return session.scalars(select(Payment).where(Payment.txid == txid)).one_or_none()


def insert_new(session: Session, values: dict[str, Any]) -> Payment | None:
    """Inserts a payment unless its Pi payment id is already recorded; the new row, or None.

    ``RETURNING`` hands back the row as written, so recording a payment needs no read after it.
    """
    dialect = session.get_bind(Payment).dialect.name
    upsert = postgresql_insert if dialect == "postgresql" else sqlite_insert
    statement = (
        upsert(Payment)
        .values(**values)
        .on_conflict_do_nothing(index_elements=["pi_payment_id"])
        .returning(Payment)
    )
    return session.scalars(statement).one_or_none()
