"""Read models of the ledger for the API and exports (amounts stay integers of minor units)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict

from settlement.ledger.models import Currency, JournalEntry


class PostingRead(BaseModel):
    """One leg of an entry."""

    model_config = ConfigDict(frozen=True)

    account: str
    amount: int
    """Signed minor units: debit > 0, credit < 0."""


class EntryRead(BaseModel):
    """A journal entry with its postings."""

    model_config = ConfigDict(frozen=True)

    id: int
    idempotency_key: str
    currency: Currency
    kind: str
    reference: str | None
    description: str
    posted_at: datetime
    postings: list[PostingRead]

    @classmethod
    def from_entry(cls, entry: JournalEntry) -> EntryRead:
        """The read model of a stored entry."""
        return cls(
            id=entry.id,
            idempotency_key=entry.idempotency_key,
            currency=Currency(entry.currency),
            kind=entry.kind,
            reference=entry.reference,
            description=entry.description,
            posted_at=entry.posted_at,
            postings=[PostingRead(account=p.account.code, amount=p.amount) for p in entry.postings],
        )


class BalanceRead(BaseModel):
    """An account's derived balance, on its normal side, at a point in the journal."""

    model_config = ConfigDict(frozen=True)

    account: str
    currency: Currency
    balance: int
    """Minor units of ``currency``."""
    as_of_entry_id: int | None = None
    as_of: datetime | None = None
