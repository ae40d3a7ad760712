"""SQL of payouts: lookups, insert-or-ignore by idempotency key, status moves with history.

The moves and the history are :class:`~settlement.payments.statemachine.StatusRecords`, shared
with payments; a move also announces ``payout.paid`` / ``payout.failed`` to the merchant.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from common.sql.helpers import insert_or_ignore
from settlement.payments.statemachine import StatusRecords
from settlement.payouts.models import Payout, PayoutStatusChange
from settlement.webhooks.announce import announce_payout

RECORDS = StatusRecords(Payout, PayoutStatusChange, "payout_id", announce_payout)

get = RECORDS.get
move = RECORDS.move
history = RECORDS.history


def by_key(session: Session, idempotency_key: str) -> Payout | None:
    """The payout created under ``idempotency_key``."""
    return session.scalars(select(Payout).where(Payout.idempotency_key == idempotency_key)).one_or_none()


def insert_if_new(session: Session, values: dict[str, Any]) -> bool:
    """Inserts a payout unless its idempotency key is taken; True if inserted."""
    return insert_or_ignore(session, Payout.__table__, values, ["idempotency_key"])  # type: ignore[arg-type]
