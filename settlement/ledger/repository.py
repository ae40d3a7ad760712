"""SQL of the ledger: account lookups, entry lookups and balance sums."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Table, func, insert, select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session, make_transient_to_detached

from settlement.ledger.models import JournalEntry, LedgerAccount, Posting


def account_by_code(session: Session, code: str, currency: str) -> LedgerAccount | None:
    """The account with ``code`` in ``currency``, if it exists."""
    statement = select(LedgerAccount).where(LedgerAccount.code == code, LedgerAccount.currency == currency)
    return session.scalars(statement).one_or_none()


def entry_by_key(session: Session, idempotency_key: str) -> JournalEntry | None:
    """The entry posted under ``idempotency_key``, if any."""
    statement = select(JournalEntry).where(JournalEntry.idempotency_key == idempotency_key)
    return session.scalars(statement).one_or_none()


def insert_entry(session: Session, values: dict[str, Any]) -> int | None:
    """Inserts an entry unless its idempotency key is taken; the new id, or None if it was taken.

    ``ON CONFLICT DO NOTHING`` (PostgreSQL waits for a concurrent inserter of the same key) keeps
    the caller's transaction usable, and ``RETURNING id`` spares a read of the row just written.
    """
    table: Table = JournalEntry.__table__  # type: ignore[assignment]
    dialect = session.get_bind(JournalEntry).dialect.name
    upsert = postgresql_insert if dialect == "postgresql" else sqlite_insert
    statement = (
        upsert(table).values(**values).on_conflict_do_nothing(index_elements=["idempotency_key"])
    ).returning(table.c.id)
    return session.execute(statement).scalar_one_or_none()


def insert_postings(session: Session, rows: list[dict[str, Any]]) -> None:
    """Inserts an entry's postings in one statement (nothing is read back)."""
    table: Table = Posting.__table__  # type: ignore[assignment]
    session.execute(insert(table), rows)


def attach_entry(session: Session, entry_id: int, values: dict[str, Any]) -> JournalEntry:
    """The entry just inserted as ``values`` under ``entry_id``, made part of the session unread.

    Its columns are the ones written; its ``postings`` load from the database when first read.
    """
    entry = JournalEntry(id=entry_id, **values)
    make_transient_to_detached(entry)
    session.add(entry)
    return entry


def entries_for_reference(session: Session, reference: str) -> list[JournalEntry]:
    """Every entry about one payment or payout, oldest first."""
    statement = select(JournalEntry).where(JournalEntry.reference == reference).order_by(JournalEntry.id)
    return list(session.scalars(statement))


def posting_sum(
    session: Session,
    account_id: int,
    *,
    up_to_entry_id: int | None = None,
    up_to_time: datetime | None = None,
) -> int:
    """Signed sum (debits - credits) of an account's postings, optionally up to an entry or time."""
    statement = (
        select(func.coalesce(func.sum(Posting.amount), 0))
        .join(JournalEntry, JournalEntry.id == Posting.entry_id)
        .where(Posting.account_id == account_id)
    )
    if up_to_entry_id is not None:
        statement = statement.where(JournalEntry.id <= up_to_entry_id)
    if up_to_time is not None:
        statement = statement.where(JournalEntry.posted_at <= up_to_time)
    # PostgreSQL's SUM(bigint) is NUMERIC (a Decimal); it is integral either way.
    return int(session.scalar(statement) or 0)


def posting_sums_by_account(session: Session, currency: str) -> dict[str, int]:
    """Signed sum of postings per account code of one currency (a trial balance)."""
    statement = (
        select(LedgerAccount.code, func.coalesce(func.sum(Posting.amount), 0))
        .join(Posting, Posting.account_id == LedgerAccount.id)
        .where(LedgerAccount.currency == currency)
        .group_by(LedgerAccount.code)
    )
    return {code: int(total) for code, total in session.execute(statement)}


def entry_imbalances(session: Session) -> list[tuple[int, int]]:
    """``(entry_id, sum)`` of every entry whose postings do not sum to zero (should be empty)."""
    statement = (
        select(Posting.entry_id, func.sum(Posting.amount))
        .group_by(Posting.entry_id)
        .having(func.sum(Posting.amount) != 0)
    )
    return [(entry_id, int(total)) for entry_id, total in session.execute(statement)]
