"""SQL tables of the ledger: accounts, journal entries and their postings.

Amounts are signed integers in the currency's minor unit (Pi: 10^-7 Pi; IDR: sen): a positive
posting is a debit, a negative one a credit. Currency consistency is enforced by the database:
a posting carries its currency and references both its entry and its account through
``(id, currency)``, so a posting can never mix an IDR account into a PI entry. That each entry
sums to zero is enforced by :mod:`settlement.ledger.service`, the only writer.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    ForeignKeyConstraint,
    Index,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from common.sql.base import Base
from common.sql.helpers import BigId, UtcDateTime


class Currency(StrEnum):
    """Currencies the ledger keeps, each in integer minor units."""

    PI = "PI"
    """Pi, in minor units of 10^-7 Pi (Stellar stroops)."""
    IDR = "IDR"
    """Indonesian Rupiah, in sen (1 MSC unit = 1 sen = Rp 0.01)."""


class AccountKind(StrEnum):
    """Accounting class of an account; decides on which side its balance is normally."""

    ASSET = "asset"
    """What the platform holds (Pi in its wallet, Rupiah at the bank); debit-normal."""
    LIABILITY = "liability"
    """What the platform owes (Rupiah to merchants, MSC in escrow, pending payouts); credit-normal."""
    INCOME = "income"
    """What the platform earned (fees); credit-normal."""
    EXPENSE = "expense"
    """What the platform spent (network costs); debit-normal."""
    EQUITY = "equity"
    """Positions and capital, including the currency-conversion accounts; credit-normal."""

    @property
    def debit_normal(self) -> bool:
        """Whether a debit increases the balance of this kind of account."""
        return self in (AccountKind.ASSET, AccountKind.EXPENSE)


class LedgerAccount(Base):
    """One account of the chart: a code (unique per currency), its kind and optional owner."""

    __tablename__ = "ledger_accounts"
    __table_args__ = (
        UniqueConstraint("code", "currency"),
        # Target of the postings' composite foreign key that pins a posting's currency.
        UniqueConstraint("id", "currency"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    code: Mapped[str] = mapped_column(String(160), nullable=False, doc="e.g. idr_owed_to_merchant:m-1")
    currency: Mapped[str] = mapped_column(String(8), nullable=False)
    kind: Mapped[str] = mapped_column(String(16), nullable=False)
    owner: Mapped[str | None] = mapped_column(String(128), nullable=True, doc="Merchant id, if any.")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, nullable=False)


class JournalEntry(Base):
    """A balanced set of postings in one currency, written at once, unique by idempotency key."""

    __tablename__ = "ledger_entries"
    __table_args__ = (
        UniqueConstraint("idempotency_key"),
        UniqueConstraint("id", "currency"),
        Index("ix_ledger_entries_reference", "reference"),
        Index("ix_ledger_entries_posted_at", "posted_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    idempotency_key: Mapped[str] = mapped_column(String(200), nullable=False)
    currency: Mapped[str] = mapped_column(String(8), nullable=False)
    kind: Mapped[str] = mapped_column(String(64), nullable=False, doc="Business movement, e.g. pi_received.")
    reference: Mapped[str | None] = mapped_column(String(128), nullable=True, doc="Payment or payout id.")
    description: Mapped[str] = mapped_column(String(500), nullable=False, default="")
    content_hash: Mapped[str] = mapped_column(
        String(64), nullable=False, doc="SHA-256 of the canonical content; a replay must match it."
    )
    posted_at: Mapped[datetime] = mapped_column(UtcDateTime, nullable=False)

    # Read-only: postings are written by the service with explicit ids, never through the relationship.
    postings: Mapped[list[Posting]] = relationship(order_by="Posting.id", lazy="selectin", viewonly=True)


class Posting(Base):
    """One leg of an entry: a signed amount on one account (debit > 0, credit < 0)."""

    __tablename__ = "ledger_postings"
    __table_args__ = (
        ForeignKeyConstraint(["entry_id", "currency"], ["ledger_entries.id", "ledger_entries.currency"]),
        ForeignKeyConstraint(["account_id", "currency"], ["ledger_accounts.id", "ledger_accounts.currency"]),
        CheckConstraint("amount <> 0", name="amount_nonzero"),
        Index("ix_ledger_postings_account_id_entry_id", "account_id", "entry_id"),
        Index("ix_ledger_postings_entry_id", "entry_id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    entry_id: Mapped[int] = mapped_column(BigInteger, nullable=False)
    account_id: Mapped[int] = mapped_column(BigInteger, nullable=False)
    currency: Mapped[str] = mapped_column(String(8), nullable=False)
    amount: Mapped[int] = mapped_column(
        BigInteger,
        nullable=False,
        doc="Signed minor units of the entry's currency (Pi 10^-7 or sen): debit > 0, credit < 0.",
    )

    account: Mapped[LedgerAccount] = relationship(lazy="joined", viewonly=True)


class EscrowBooksCursor(Base):
    """How far the escrow books (:mod:`settlement.escrowbooks`) have read one escrow's events in the
    indexer's mirror: the last event booked, moved in the same transaction as its entries, so a
    restarted booker continues exactly after it and a crash mid-page books that page again whole.
    """

    __tablename__ = "ledger_escrow_cursors"

    escrow: Mapped[str] = mapped_column(String(42), primary_key=True, doc="Escrow address, lowercase.")
    block_number: Mapped[int] = mapped_column(BigInteger, nullable=False, doc="Block of the last event read.")
    log_index: Mapped[int] = mapped_column(BigInteger, nullable=False, doc="Its log index (-1: none yet).")
    block_hash: Mapped[str | None] = mapped_column(
        String(66), nullable=True, doc="Its block's hash, to notice a reorg deeper than the confirmations."
    )
    scanned_block: Mapped[int] = mapped_column(
        BigInteger, nullable=False, doc="Every escrow event up to this block is booked."
    )
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, nullable=False)
