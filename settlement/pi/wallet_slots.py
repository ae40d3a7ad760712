"""The app wallet's one in-flight payout slot, shared by every kind of app-to-user payout.

A Pi payout is a transaction signed with the app wallet's next sequence number. Two payouts signed
before either is on the ledger carry the same number and one of them fails (or, resubmitted after
a crash, pays nothing while its record says it paid). So one payout at a time holds the wallet:
the holder is a row keyed by the wallet's address (the primary key makes a second holder
impossible, whichever process or table the payout belongs to), taken before the sequence number is
read and released in the transaction that records the payout's end.

Holders are named ``<kind>:<id>`` (``refund:<uuid>`` for :mod:`settlement.flow.refunds`,
``payback:<uuid>`` for :mod:`settlement.paybacks`).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String, delete, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from common.sql.base import Base
from common.sql.helpers import UtcDateTime, insert_or_ignore


class PiWalletSlot(Base):
    """Who holds a Pi wallet's one in-flight payout slot (no row: the slot is free)."""

    __tablename__ = "pi_wallet_slots"

    wallet: Mapped[str] = mapped_column(String(64), primary_key=True, doc="The app wallet's address.")
    holder: Mapped[str] = mapped_column(
        String(64), nullable=False, doc="The payout holding it: ``refund:<id>`` or ``payback:<id>``."
    )
    taken_at: Mapped[datetime] = mapped_column(UtcDateTime, nullable=False)


def take(session: Session, wallet: str, holder: str, now: datetime) -> bool:
    """Takes ``wallet``'s slot for ``holder`` in the caller's transaction.

    Returns:
        Whether ``holder`` holds it now (taken now, or already its own).
    """
    insert_or_ignore(
        session,
        PiWalletSlot.__table__,  # type: ignore[arg-type]
        {"wallet": wallet, "holder": holder, "taken_at": now},
        ["wallet"],
    )
    current = session.scalar(
        select(PiWalletSlot.holder)
        .where(PiWalletSlot.wallet == wallet)
        .execution_options(populate_existing=True)
    )
    return current == holder


def release(session: Session, wallet: str, holder: str) -> None:
    """Frees ``wallet``'s slot if ``holder`` holds it (in the caller's transaction)."""
    session.execute(
        delete(PiWalletSlot)
        .where(PiWalletSlot.wallet == wallet, PiWalletSlot.holder == holder)
        .execution_options(synchronize_session=False)
    )


def holder_of(session: Session, wallet: str) -> str | None:
    """Who holds ``wallet``'s slot now (None: free)."""
    return session.scalar(select(PiWalletSlot.holder).where(PiWalletSlot.wallet == wallet))
