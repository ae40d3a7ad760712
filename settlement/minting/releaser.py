"""Releasing escrowed payments to their merchants after the hold, and booking each release once.

A run releases every held payment whose hold has passed with ``releaseBatch`` (which skips what
is no longer releasable, e.g. disputed meanwhile), then books from the chain: a payment the
escrow shows as ``Released`` gets ``record_release`` and its holding's ``released_at``, in one
transaction. Booking reads the chain, not the transaction's outcome, so a release made by
someone else (anyone may release after the hold; the payer earlier) or by a run killed before
its bookkeeping is booked too, and the ledger's idempotency key books it once.

Write-ahead audit (the shape "a transaction sent before its record is written"): a
``releaseBatch`` needs no record of its own, because the escrow's state is the record. A crash
after the send and before the booking loses nothing (the next run reads the payment as
``Released`` and books it under the payment's idempotency key, the one the escrow books use) and
duplicates nothing (a second release of the same id is skipped or refused by the escrow, so a
resend only costs gas). What a receipt alone cannot say is whether the release stays: a reorg
can take it away, so releases are booked only at ``confirmations`` blocks below the head (the
minter's depth); a release a reorg removed shows as held again and is sent again.

No payment holds up another: the escrow's ``releaseBatch`` skips (``ReleaseSkipped``) a payment
whose merchant it cannot pay (a frozen account), which stays held and unbooked and is tried again
next run; and should a batch revert anyway (an escrow deployed before that change, or a cause not
foreseen), the run releases that chunk's payments one by one, each failure logged and left for
the next run, instead of stopping at the chunk.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from chain.errors import ChainError
from chain.platform import Platform
from chain.sender import TransactionSender
from settlement.ledger.flows import record_release
from settlement.ledger.sql import utcnow
from settlement.minting.chainlock import SenderLock
from settlement.minting.escrow_reads import EscrowRecord, read_escrow_records
from settlement.minting.minter import MAX_ESCROW_BATCH
from settlement.minting.models import EscrowHolding
from settlement.payments.models import Payment, PaymentStatus

ESCROW_STATUS_HELD = 1
ESCROW_STATUS_RELEASED = 3

log = logging.getLogger(__name__)


class EscrowReleaser:
    """Releases due escrows and books them.

    Args:
        sessions: The settlement database.
        platform: The deployed contracts.
        sender: Sends the releaseBatch transactions (any account may release after the hold).
        batch_size: Payment ids per releaseBatch (at most the escrow's MAX_BATCH).
        clock: Current UTC time.
        confirmations: Blocks on top of a release before it is booked (0: the head is final, as
            on the local development chain).
    """

    def __init__(
        self,
        sessions: sessionmaker[Session],
        platform: Platform,
        sender: TransactionSender,
        *,
        batch_size: int = 200,
        clock: Callable[[], datetime] = utcnow,
        confirmations: int = 0,
    ) -> None:
        if confirmations < 0:
            raise ValueError("confirmations must be at least 0")
        self.sessions = sessions
        self.confirmations = confirmations
        self.platform = platform
        self.sender = sender
        self.batch_size = min(batch_size, MAX_ESCROW_BATCH)
        self.clock = clock
        self.lock = SenderLock.for_sessions(sessions, sender.address)

    def run_once(self) -> int:
        """Releases what is due now and books every release the chain shows; returns how many
        releases this run booked."""
        chain_now = int(self.platform.w3.eth.get_block("latest")["timestamp"])
        with self.sessions() as session:
            due = list(
                session.scalars(
                    select(EscrowHolding)
                    .join(Payment, Payment.id == EscrowHolding.payment_id)
                    .where(
                        Payment.status == str(PaymentStatus.COMPLETED),
                        EscrowHolding.released_at.is_(None),
                        EscrowHolding.release_after.is_not(None),
                        EscrowHolding.release_after <= chain_now,
                    )
                    .order_by(EscrowHolding.release_after, EscrowHolding.escrow_id)
                )
            )
        booked = 0
        for start in range(0, len(due), self.batch_size):
            chunk = due[start : start + self.batch_size]
            held = [
                h for h, r in zip(chunk, self._read(chunk), strict=True) if r.status == ESCROW_STATUS_HELD
            ]
            if held:
                self._release(held)
            for holding, record in zip(chunk, self._read(chunk), strict=True):
                if record.status == ESCROW_STATUS_HELD and holding in held:
                    log.warning(
                        "escrow %s (payment %s) is due but was not released (its merchant cannot "
                        "receive?); it is tried again next run",
                        holding.escrow_id,
                        holding.payment_id,
                    )
            deep = self._read(chunk, self._booking_block())
            booked += self._book(
                [
                    (h, r.amount)
                    for h, r in zip(chunk, deep, strict=True)
                    if r.status == ESCROW_STATUS_RELEASED
                ]
            )
        return booked

    def _release(self, held: list[EscrowHolding]) -> None:
        """Releases ``held`` in one ``releaseBatch``; if the batch reverts, one payment at a time,
        so that a payment that cannot be released never stops the others (module docstring)."""
        escrow = self.platform.escrow.functions
        ids = [bytes.fromhex(h.escrow_id[2:]) for h in held]
        with self.lock.hold():
            # A reorg may have dropped what this key sent (a release shows held again): take the
            # next nonce from the node, never from a cache past a gap that would never be mined.
            self.sender.reset_nonces()
            try:
                self.sender.transact(escrow.releaseBatch(ids))
                return
            except ChainError as exc:
                log.warning("releaseBatch of %d payments failed (%s); releasing one by one", len(ids), exc)
            for holding, payment_id in zip(held, ids, strict=True):
                try:
                    self.sender.transact(escrow.release(payment_id))
                except ChainError as exc:
                    log.warning("release of escrow %s failed: %s", holding.escrow_id, exc)

    def _booking_block(self) -> int | None:
        """The block releases are booked at: ``confirmations`` below the head (None: the head)."""
        if self.confirmations == 0:
            return None
        return max(int(self.platform.w3.eth.block_number) - self.confirmations, 0)

    def _read(self, holdings: list[EscrowHolding], block: int | None = None) -> list[EscrowRecord]:
        ids = [bytes.fromhex(h.escrow_id[2:]) for h in holdings]
        return read_escrow_records(self.platform.w3, self.platform.escrow.address, ids, block)

    def _book(self, released: list[tuple[EscrowHolding, int]]) -> int:
        """Books releases the chain shows, each once (conditional on ``released_at`` being empty), at
        the amount the escrow released (less than the payment after a merchant's partial refund)."""
        booked = 0
        with self.sessions.begin() as session:
            for holding, amount in released:
                row = session.scalars(
                    select(EscrowHolding)
                    .where(
                        EscrowHolding.payment_id == holding.payment_id, EscrowHolding.released_at.is_(None)
                    )
                    .with_for_update()
                ).one_or_none()
                if row is None:
                    continue  # booked by a concurrent run
                payment = session.get(Payment, holding.payment_id)
                assert payment is not None
                record_release(session, payment, amount)
                row.released_at = self.clock()
                booked += 1
        return booked
