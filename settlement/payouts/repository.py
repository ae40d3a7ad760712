"""SQL of payouts: lookups, insert-or-ignore by idempotency key, status moves with history."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from common.sql.helpers import insert_or_ignore
from settlement.payments.statemachine import move_with_history
from settlement.payouts.models import Payout, PayoutStatusChange
from settlement.webhooks.announce import announce_payout


def get(session: Session, payout_id: uuid.UUID, *, fresh: bool = False) -> Payout | None:
    """The payout with ``payout_id``; ``fresh`` re-reads it from the database."""
    return session.get(Payout, payout_id, populate_existing=fresh)


def by_key(session: Session, idempotency_key: str) -> Payout | None:
    """The payout created under ``idempotency_key``."""
    return session.scalars(select(Payout).where(Payout.idempotency_key == idempotency_key)).one_or_none()


def insert_if_new(session: Session, values: dict[str, Any]) -> bool:
    """Inserts a payout unless its idempotency key is taken; True if inserted."""
    return insert_or_ignore(session, Payout.__table__, values, ["idempotency_key"])  # type: ignore[arg-type]


def move(
    session: Session,
    payout_id: uuid.UUID,
    from_status: str,
    to_status: str,
    reason: str,
    now: datetime,
    values: dict[str, Any],
) -> bool:
    """Conditionally moves the status and, if it moved, writes the history row and the merchant's
    webhook event (if the move is announced) in the same transaction; True if it moved."""
    row = PayoutStatusChange(
        payout_id=payout_id, from_status=from_status, to_status=to_status, reason=reason, at=now
    )
    table = Payout.__table__
    if not move_with_history(session, table, payout_id, from_status, to_status, now, values, row):  # type: ignore[arg-type]
        return False
    announce_payout(session, payout_id, to_status)
    return True


def history(session: Session, payout_id: uuid.UUID) -> list[PayoutStatusChange]:
    """Every status move of a payout, in order."""
    statement = (
        select(PayoutStatusChange)
        .where(PayoutStatusChange.payout_id == payout_id)
        .order_by(PayoutStatusChange.id)
    )
    return list(session.scalars(statement))
