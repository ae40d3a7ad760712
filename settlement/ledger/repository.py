"""SQL of the ledger: account lookups, entry lookups and balance sums."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from settlement.ledger.models import JournalEntry, LedgerAccount, Posting


def account_by_code(session: Session, code: str, currency: str) -> LedgerAccount | None:
    """The account with ``code`` in ``currency``, if it exists."""
    statement = select(LedgerAccount).where(LedgerAccount.code == code, LedgerAccount.currency == currency)
    return session.scalars(statement).one_or_none()


def entry_by_key(session: Session, idempotency_key: str) -> JournalEntry | None:
    """The entry posted under ``idempotency_key``, if any."""
    statement = select(JournalEntry).where(JournalEntry.idempotency_key == idempotency_key)
    return session.scalars(statement).one_or_none()


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
