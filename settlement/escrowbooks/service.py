"""Booking escrow outcomes from the indexer's mirror, each exactly once.

A run reads the escrow's outcome events from ``decoded_events`` in log order, after a stored
cursor and no higher than the safe block (the indexer's checkpoint, and ``confirmations`` below
the head it last saw), and books them a page at a time: the page's entries and the cursor's move
commit in one transaction, so a crash books a page whole or not at all, and a replay (a cursor
moved back, a second booker) posts nothing twice because each entry's key is its event's
(``escrow:<tx hash>:<log index>``; a release keeps its payment key, shared with the releaser).

Events of escrow ids that are not settlement payments (nothing of them is in the books) are
counted and skipped. Events this booker does not book (``Deposited``: the minter books it;
``Disputed``: nothing moves; a release the escrow skipped: still held) only move the cursor.

Invariants (tests/settlement/escrowbooks): every booked outcome at or below the safe block is in
the books once; after a run, the books' escrow, refund, release, split and guarantee figures equal
the chain's (audit check ``escrow_books_match_mirror``).
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import and_, or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from common.errors import ConflictError, ValidationError
from common.sql.helpers import insert_or_ignore, utcnow
from indexer.models import Checkpoint, DecodedEvent
from settlement.ledger.flows import (
    ChainEvent,
    record_dispute_resolution,
    record_escrow_refund,
    record_guarantee_fund_change,
    record_guarantee_refund,
    record_release,
)
from settlement.ledger.models import EscrowBooksCursor
from settlement.minting.ids import payment_id_from_escrow_id
from settlement.payments.models import Payment

#: The outcome events this booker books; the cursor passes over every other event.
BOOKED_EVENTS = ("Released", "Refunded", "DisputeResolved", "GuaranteeRefundPaid", "GuaranteeFundChanged")


class EscrowBooksReorgedError(ConflictError):
    """The event the cursor stands on is no longer in the mirror: the chain reorganised deeper
    than the confirmations, and entries booked from the lost blocks need an operator."""

    code = "escrow_books_reorged"

    def __init__(self, escrow: str, block: int, log_index: int, block_hash: str) -> None:
        super().__init__(
            f"escrow {escrow}: booked event {block}/{log_index} (block {block_hash}) left the mirror; "
            "the chain reorganised below the confirmation depth",
            escrow=escrow,
            block=block,
            log_index=log_index,
        )


@dataclass
class BookingReport:
    """What one run did."""

    booked: Counter[str] = field(default_factory=Counter)
    """Entries posted (or found already posted) by event name."""
    foreign: int = 0
    """Outcome events of escrow ids that are not settlement payments (skipped)."""
    read: int = 0
    """Events read from the mirror."""
    safe_block: int | None = None
    """The highest block this run could book (None: the mirror has indexed nothing)."""

    @property
    def total(self) -> int:
        """Entries booked."""
        return sum(self.booked.values())


@dataclass(frozen=True)
class _Row:
    block_number: int
    log_index: int
    block_hash: str
    tx_hash: str
    event: str
    args: dict[str, Any]


class EscrowOutcomeBooker:
    """Books the outcomes of one escrow's payments from the mirror (see the module docstring).

    Args:
        sessions: The platform database (the mirror and the books live in it).
        escrow: The escrow's address.
        stream: The indexer stream whose checkpoint bounds what is read.
        confirmations: Blocks the safe block stays below the head the indexer last saw.
        page_size: Events per transaction.
        clock: Current UTC time.
    """

    def __init__(
        self,
        sessions: sessionmaker[Session],
        escrow: str,
        *,
        stream: str = "default",
        confirmations: int = 12,
        page_size: int = 500,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.sessions = sessions
        self.escrow = escrow.lower()
        self.stream = stream
        self.confirmations = confirmations
        self.page_size = page_size
        self.clock = clock

    def run_once(self, max_pages: int | None = None) -> BookingReport:
        """Books every outcome up to the safe block (or ``max_pages`` pages of them).

        Raises:
            EscrowBooksReorgedError: the cursor's event left the mirror.
        """
        report = BookingReport()
        pages = 0
        while max_pages is None or pages < max_pages:
            with self.sessions.begin() as session:
                read = self._page(session, report)
            pages += 1
            if read < self.page_size:
                break
        return report

    # ------------------------------------------------------------------------------ one page

    def _safe_block(self, session: Session) -> int | None:
        checkpoint = session.get(Checkpoint, self.stream, populate_existing=True)
        if checkpoint is None:
            return None
        return min(checkpoint.block_number, checkpoint.chain_head - self.confirmations)

    def _cursor(self, session: Session) -> EscrowBooksCursor:
        """The escrow's cursor row, created at the start, locked for this transaction."""
        insert_or_ignore(
            session,
            EscrowBooksCursor.__table__,  # type: ignore[arg-type]
            {
                "escrow": self.escrow,
                "block_number": -1,
                "log_index": -1,
                "block_hash": None,
                "scanned_block": -1,
                "updated_at": self.clock(),
            },
            ["escrow"],
        )
        # One booker at a time per escrow (PostgreSQL row lock; SQLite writers are serial anyway).
        cursor = session.scalars(
            select(EscrowBooksCursor)
            .where(EscrowBooksCursor.escrow == self.escrow)
            .with_for_update()
            .execution_options(populate_existing=True)
        ).one()
        return cursor

    def _page(self, session: Session, report: BookingReport) -> int:
        safe = self._safe_block(session)
        report.safe_block = safe
        if safe is None:
            return 0
        cursor = self._cursor(session)
        self._check_not_reorged(session, cursor)
        d = DecodedEvent
        rows = [
            _Row(*row)
            for row in session.execute(
                select(d.block_number, d.log_index, d.block_hash, d.tx_hash, d.event, d.args)
                .where(
                    d.address == self.escrow,
                    d.event.in_(BOOKED_EVENTS),
                    d.block_number <= safe,
                    or_(
                        d.block_number > cursor.block_number,
                        and_(d.block_number == cursor.block_number, d.log_index > cursor.log_index),
                    ),
                )
                .order_by(d.block_number, d.log_index)
                .limit(self.page_size)
            )
        ]
        report.read += len(rows)
        for row in rows:
            self._book(session, row, report)
        values: dict[str, Any] = {"updated_at": self.clock()}
        if rows:
            last = rows[-1]
            values.update(
                block_number=last.block_number, log_index=last.log_index, block_hash=last.block_hash
            )
        # A full page may stop inside a block: only the blocks before the last one are complete.
        scanned = safe if len(rows) < self.page_size else rows[-1].block_number - 1
        values["scanned_block"] = max(cursor.scanned_block, scanned)
        session.execute(
            update(EscrowBooksCursor)
            .where(EscrowBooksCursor.escrow == self.escrow)
            .values(**values)
            .execution_options(synchronize_session=False)
        )
        return len(rows)

    def _check_not_reorged(self, session: Session, cursor: EscrowBooksCursor) -> None:
        if cursor.block_hash is None:
            return
        still = session.scalar(
            select(DecodedEvent.id).where(
                DecodedEvent.block_hash == cursor.block_hash, DecodedEvent.log_index == cursor.log_index
            )
        )
        if still is None:
            raise EscrowBooksReorgedError(
                self.escrow, cursor.block_number, cursor.log_index, cursor.block_hash
            )

    # ------------------------------------------------------------------------------ one event

    def _book(self, session: Session, row: _Row, report: BookingReport) -> None:
        args, event = row.args, ChainEvent(row.tx_hash, row.log_index)
        if row.event == "GuaranteeFundChanged":
            delta = int(args["delta"])
            if delta < 0 and self._pays_our_cover(session, row):
                return  # the fund side of a cover, booked with its GuaranteeRefundPaid
            record_guarantee_fund_change(session, delta, str(args["by"]), event)
            report.booked[row.event] += 1
            return
        payment = _payment(session, str(args["paymentId"]))
        if payment is None:
            report.foreign += 1
            return
        if row.event == "Released":
            record_release(session, payment, int(args["amount"]))
        elif row.event == "Refunded":
            record_escrow_refund(session, payment, int(args["amount"]), event)
        elif row.event == "DisputeResolved":
            record_dispute_resolution(
                session,
                payment,
                int(args["toMerchant"]),
                int(args["toPayer"]),
                bool(args["byDefault"]),
                event,
            )
        elif row.event == "GuaranteeRefundPaid":
            record_guarantee_refund(session, payment, int(args["amount"]), event)
        report.booked[row.event] += 1

    def _pays_our_cover(self, session: Session, row: _Row) -> bool:
        """Whether this fund decrease is ``coverRefund``'s (emitted right after its
        ``GuaranteeRefundPaid``) for a settlement payment, whose entry books both sides."""
        cover = session.scalar(
            select(DecodedEvent.args).where(
                DecodedEvent.block_hash == row.block_hash,
                DecodedEvent.log_index == row.log_index - 1,
                DecodedEvent.address == self.escrow,
                DecodedEvent.event == "GuaranteeRefundPaid",
            )
        )
        return cover is not None and _payment(session, str(cover["paymentId"])) is not None


def _payment(session: Session, escrow_id: str) -> Payment | None:
    """The settlement payment an escrow id was derived from, or None for any other id."""
    try:
        payment_id: uuid.UUID = payment_id_from_escrow_id(bytes.fromhex(escrow_id.removeprefix("0x")))
    except (ValidationError, ValueError):
        return None
    return session.get(Payment, payment_id)
