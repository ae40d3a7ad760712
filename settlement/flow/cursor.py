"""The stored position in an account's Horizon payment stream (SQL), so a restarted follower
continues exactly after the last operation it fully handled."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import update
from sqlalchemy.orm import Session

from common.sql.helpers import insert_or_ignore
from settlement.flow.models import PiStreamCursor


def load(session: Session, account_id: str) -> str | None:
    """The stored paging token for ``account_id``, or None before the first save."""
    row = session.get(PiStreamCursor, account_id, populate_existing=True)
    return row.cursor if row is not None else None


def save(session: Session, account_id: str, cursor: str, now: datetime) -> None:
    """Stores ``cursor`` as the last handled paging token of ``account_id`` (in the caller's transaction)."""
    table = PiStreamCursor.__table__
    values = {"account_id": account_id, "cursor": cursor, "updated_at": now}
    if not insert_or_ignore(session, table, values, ["account_id"]):  # type: ignore[arg-type]
        session.execute(
            update(PiStreamCursor)
            .where(PiStreamCursor.account_id == account_id)
            .values(cursor=cursor, updated_at=now)
            .execution_options(synchronize_session=False)
        )
