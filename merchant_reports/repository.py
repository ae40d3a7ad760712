"""SQL reads of the reports: the ledger postings of one merchant in a period, its payments and
payouts. Read-only; every function takes the caller's session."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.merchants.models import Merchant
from settlement.ledger.models import Currency, JournalEntry, LedgerAccount, Posting
from settlement.payments.models import Payment
from settlement.payouts.models import Payout
from settlement.requests.models import HostedQuote, PaymentRequest

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class EntryPostings:
    """One journal entry and its postings by account code (signed: debit > 0, credit < 0)."""

    entry_id: int
    kind: str
    reference: str | None
    posted_at: datetime
    amounts: dict[str, int]


def merchant(session: Session, merchant_id: uuid.UUID) -> Merchant | None:
    """The merchant row, if any."""
    return session.get(Merchant, merchant_id)


def merchant_entries(
    session: Session, merchant_id: str, start: datetime, end: datetime
) -> list[EntryPostings]:
    """Every IDR entry posted in ``[start, end)`` that moves one of the merchant's accounts, with
    all of its postings (the counter-accounts say what the movement was), oldest first."""
    touching = (
        select(Posting.entry_id)
        .join(LedgerAccount, LedgerAccount.id == Posting.account_id)
        .where(LedgerAccount.owner == merchant_id, LedgerAccount.currency == Currency.IDR.value)
    )
    statement = (
        select(JournalEntry.id, JournalEntry.kind, JournalEntry.reference, JournalEntry.posted_at)
        .where(
            JournalEntry.id.in_(touching),
            JournalEntry.posted_at >= start,
            JournalEntry.posted_at < end,
        )
        .order_by(JournalEntry.id)
    )
    heads = list(session.execute(statement))
    amounts = _postings_by_entry(session, [row.id for row in heads])
    return [
        EntryPostings(row.id, row.kind, row.reference, row.posted_at, amounts.get(row.id, {}))
        for row in heads
    ]


def _postings_by_entry(session: Session, entry_ids: list[int]) -> dict[int, dict[str, int]]:
    found: dict[int, dict[str, int]] = {}
    for chunk in _chunks(entry_ids, 500):
        statement = (
            select(Posting.entry_id, LedgerAccount.code, Posting.amount)
            .join(LedgerAccount, LedgerAccount.id == Posting.account_id)
            .where(Posting.entry_id.in_(chunk))
        )
        for entry_id, code, amount in session.execute(statement):
            per_entry = found.setdefault(entry_id, {})
            per_entry[code] = per_entry.get(code, 0) + int(amount)
    return found


def conversion_fees_pi(session: Session, payment_ids: Iterable[str], fee_account: str) -> dict[str, int]:
    """Pi minor units credited to ``fee_account`` by the Pi leg of each payment's conversion."""
    fees: dict[str, int] = {}
    for chunk in _chunks(list(payment_ids), 500):
        statement = (
            select(JournalEntry.reference, Posting.amount)
            .join(Posting, Posting.entry_id == JournalEntry.id)
            .join(LedgerAccount, LedgerAccount.id == Posting.account_id)
            .where(
                JournalEntry.reference.in_(chunk),
                JournalEntry.kind == "conversion",
                JournalEntry.currency == Currency.PI.value,
                LedgerAccount.code == fee_account,
            )
        )
        for reference, amount in session.execute(statement):
            key = str(reference)
            fees[key] = fees.get(key, 0) - int(amount)
    return fees


def guarantee_refunds(
    session: Session, merchant_id: str, start: datetime, end: datetime, refunds_account: str
) -> list[tuple[datetime, int]]:
    """``(posted_at, amount)`` of each refund the guarantee fund paid in ``[start, end)`` for one of
    the merchant's payments (``guarantee_refund`` entries: they move no account of the merchant, so
    they are found by their payment reference)."""
    statement = (
        select(JournalEntry.reference, JournalEntry.posted_at, Posting.amount)
        .join(Posting, Posting.entry_id == JournalEntry.id)
        .join(LedgerAccount, LedgerAccount.id == Posting.account_id)
        .where(
            JournalEntry.kind == "guarantee_refund",
            JournalEntry.posted_at >= start,
            JournalEntry.posted_at < end,
            LedgerAccount.code == refunds_account,
        )
        .order_by(JournalEntry.id)
    )
    rows = [
        (str(reference), posted_at, -int(amount))
        for reference, posted_at, amount in session.execute(statement)
    ]
    ids = {uuid.UUID(reference) for reference, _at, _amount in rows if _is_uuid(reference)}
    mine: set[str] = set()
    for chunk in _chunks(sorted(ids), 500):
        found = session.scalars(
            select(Payment.id).where(Payment.id.in_(chunk), Payment.merchant_id == merchant_id)
        )
        mine.update(str(payment_id) for payment_id in found)
    return [(posted_at, amount) for reference, posted_at, amount in rows if reference in mine]


def _is_uuid(text: str) -> bool:
    try:
        uuid.UUID(text)
    except ValueError:
        return False
    return True


def payout_statuses(session: Session, payout_ids: Iterable[str]) -> dict[str, Payout]:
    """The payouts named by ledger references (ids that are not payouts are left out)."""
    ids = [uuid.UUID(text) for text in payout_ids if _is_uuid(text)]
    if not ids:
        return {}
    return {str(row.id): row for row in session.scalars(select(Payout).where(Payout.id.in_(ids)))}


@dataclass(frozen=True, slots=True)
class PaymentRow:
    """A payment of the export with the reference of the payment request it paid, if any."""

    payment: Payment
    reference: str | None


def payments_between(
    session: Session, merchant_id: str, start: datetime, end: datetime, limit: int
) -> list[PaymentRow]:
    """The merchant's payments created in ``[start, end)``, oldest first, at most ``limit``."""
    statement = (
        select(Payment, PaymentRequest.reference)
        .outerjoin(HostedQuote, HostedQuote.quote_id == Payment.quote_id)
        .outerjoin(PaymentRequest, PaymentRequest.id == HostedQuote.request_id)
        .where(Payment.merchant_id == merchant_id, Payment.created_at >= start, Payment.created_at < end)
        .order_by(Payment.created_at, Payment.id)
        .limit(limit)
    )
    return [PaymentRow(payment, reference) for payment, reference in session.execute(statement)]


def _chunks(items: Sequence[T], size: int) -> Iterator[list[T]]:
    for index in range(0, len(items), size):
        yield list(items[index : index + size])
