"""SQL of custodial keys: lookups, the conditional retire move and the history."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from custody.models import CustodyKey, CustodyKeyHistory, CustodyKeyStatus


def get(session: Session, key_id: uuid.UUID, *, lock: bool = False) -> CustodyKey | None:
    """The key with this id (locked FOR UPDATE on PostgreSQL when ``lock``)."""
    statement = select(CustodyKey).where(CustodyKey.id == key_id)
    if lock:
        statement = statement.with_for_update()
    return session.scalars(statement).first()


def current(session: Session, merchant_id: uuid.UUID) -> CustodyKey | None:
    """The merchant's current key, if any."""
    return session.scalars(select(CustodyKey).where(CustodyKey.current_for == merchant_id)).first()


def of_merchant(session: Session, merchant_id: uuid.UUID) -> list[CustodyKey]:
    """Every key of the merchant, oldest first (retired ones included)."""
    statement = (
        select(CustodyKey).where(CustodyKey.merchant_id == merchant_id).order_by(CustodyKey.created_at)
    )
    return list(session.scalars(statement))


def wrapped_under(session: Session, master_key_ids: list[str], limit: int) -> list[CustodyKey]:
    """Up to ``limit`` keys whose data key is wrapped under one of ``master_key_ids``, locked."""
    statement = (
        select(CustodyKey)
        .where(CustodyKey.master_key_id.in_(master_key_ids))
        .order_by(CustodyKey.id)
        .limit(limit)
        .with_for_update()
    )
    return list(session.scalars(statement))


def not_wrapped_under(session: Session, master_key_ids: list[str]) -> list[CustodyKey]:
    """Every key whose data key is wrapped under none of ``master_key_ids``."""
    statement = select(CustodyKey).where(CustodyKey.master_key_id.not_in(master_key_ids))
    return list(session.scalars(statement))


def retire(session: Session, key: CustodyKey, at: datetime) -> bool:
    """Moves ``key`` from current to retired; False when it was not current (a racing rotation)."""
    result = session.execute(
        update(CustodyKey)
        .where(CustodyKey.id == key.id, CustodyKey.status == CustodyKeyStatus.CURRENT)
        .values(status=CustodyKeyStatus.RETIRED, current_for=None, retired_at=at)
        .execution_options(synchronize_session="fetch")
    )
    return bool(getattr(result, "rowcount", 0) == 1)


def record(session: Session, key_id: uuid.UUID, kind: str, detail: str, at: datetime) -> None:
    """Appends one history row."""
    session.add(CustodyKeyHistory(key_id=key_id, kind=kind, detail=detail, at=at))


def history(session: Session, key_id: uuid.UUID) -> list[CustodyKeyHistory]:
    """The key's history, oldest first."""
    statement = (
        select(CustodyKeyHistory).where(CustodyKeyHistory.key_id == key_id).order_by(CustodyKeyHistory.id)
    )
    return list(session.scalars(statement))
