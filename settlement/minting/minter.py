"""Minting credited payments as MSC into the merchant escrow, many payments per transaction.

One run:

1. **Recover** every batch left open by an earlier run (a crash, a kill, a chain error): under
   the sender lock, read the chain first — ``getPayment`` of each id says which payments are
   already held — and finish only what is missing.
2. **Claim** up to ``max_batch`` ``pending_stellar`` payments (``FOR UPDATE SKIP LOCKED`` on
   PostgreSQL, so concurrent minters never take the same payment; the holding's primary key on
   the payment id is the database's last word) and commit the batch record before anything is
   sent: the write-ahead record. A payment whose merchant has no address, or one the escrow would
   refuse (the zero address, the MSC token, the escrow itself: ``EscrowPartyUnpayable``), goes to
   ``error`` with the reason instead, so one bad merchant never makes a batch revert; a batch
   claimed before such a refusal drops the holding (never deposited) the same way on recovery.
3. **Drive** it under the sender lock: mint only what the depositor's idle MSC does not already
   cover (so MSC minted before a crash is reused, never minted twice), ``depositBatch`` the
   payments not yet in escrow in chunks that fit a block, then move the payments to
   ``completed`` and post ``record_msc_minted_to_escrow`` in one transaction.

Invariants (tests/settlement/minting): every payment is deposited at most once (the escrow also
refuses a second deposit of an id, the last line of defence, never the first); MSC total supply
minted by the depositor == MSC deposited into escrow + the depositor's idle balance; the ledger's
``msc_minted_to_escrow`` accounts equal the escrow's holdings of the payments.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from web3 import Web3

from chain.errors import ChainError
from chain.platform import Platform
from chain.sender import TransactionSender
from common.errors import ValidationError
from settlement.ledger.flows import record_msc_minted_to_escrow
from settlement.ledger.sql import insert_or_ignore, utcnow
from settlement.minting.chainlock import SenderLock
from settlement.minting.escrow_reads import EscrowRecord, read_escrow_records
from settlement.minting.ids import escrow_payment_id
from settlement.minting.merchants import MerchantAddresses, merchant_addresses_from_table
from settlement.minting.models import EscrowHolding, MintBatch, MintBatchState
from settlement.payments import repository as payments
from settlement.payments.errors import InvalidTransitionError
from settlement.payments.models import Payment, PaymentStatus
from settlement.payments.service import PAYMENT_MACHINE
from settlement.redemption import rawtx

log = logging.getLogger(__name__)

#: Gas one more payment adds to a depositBatch (measured ~50k: two storage slots and an event),
#: with headroom; chunks are sized so a chunk plus the sender's estimate buffer fits a block.
DEPOSIT_GAS_PER_PAYMENT = 52_000
MAX_ESCROW_BATCH = 500  # MerchantEscrow.MAX_BATCH
DEFAULT_HOLD_SECONDS = 3 * 24 * 3600
ESCROW_STATUS_NONE = 0
UINT256_MAX = 2**256 - 1

#: Points of a run an observer hears about (logging, metrics; the crash tests kill the process
#: at them): ``recorded`` after the batch record commits, ``minted`` after the mint's receipt,
#: ``deposit_sent`` after each depositBatch's receipt (before its hash is recorded), ``deposited``
#: after the last depositBatch's receipt and before the bookkeeping commits.
Step = str
StepObserver = Callable[[Step, uuid.UUID], None]


@dataclass
class MintReport:
    """What one run did."""

    claimed: int = 0
    """Payments this run put in a new batch."""
    completed: int = 0
    """Payments this run moved to ``completed`` (its own batch and recovered ones)."""
    found_in_escrow: int = 0
    """Of those, payments already held on-chain (deposited before a crash), not deposited again."""
    failed: int = 0
    """Payments moved to ``error`` (no merchant address, an address the escrow refuses to pay, or a
    different escrow record on-chain)."""
    minted: int = 0
    """Sen minted by this run."""
    claimed_batch: uuid.UUID | None = None
    """The batch this run claimed, if any."""
    batches: list[uuid.UUID] = field(default_factory=list)
    """Batches this run completed."""
    tx_hashes: list[str] = field(default_factory=list)
    """Every transaction this run sent, in order."""


class EscrowMinter:
    """Mints ``pending_stellar`` payments into the merchant escrow and completes them.

    Args:
        sessions: The settlement database.
        platform: The deployed contracts.
        sender: Sends from the settlement key, which must hold the escrow's DEPOSITOR_ROLE and be
            an MSC minter with enough allowance. Its MSC balance is only ever deposit money.
        merchant_addresses: Where each merchant is paid (default: the ``merchants`` table).
        payer: The escrow's payer of every deposit (default: the settlement key). Customers pay
            in Pi and have no EVM address; a refund goes back in Pi, so the platform acts as the
            payer on the chain.
        hold_seconds: How long a deposit is held before anyone may release it.
        deposit_chunk: Payments per depositBatch (default: what fits the node's block gas limit).
        observer: Told of each step (see :data:`StepObserver`).
        pending_timeout_s: How long recovery waits for the key's pending transactions to be mined.
        clock: Current UTC time.
        confirmations: Blocks on top of a deposit's block before its payments are booked (0:
            the receipt is final, as on the local development chain).
        confirmation_wait_s: How long one run waits for that depth before leaving the batch open.
        confirmation_poll_s: How often it looks meanwhile.
    """

    def __init__(
        self,
        sessions: sessionmaker[Session],
        platform: Platform,
        sender: TransactionSender,
        *,
        merchant_addresses: MerchantAddresses = merchant_addresses_from_table,
        payer: str | None = None,
        hold_seconds: int = DEFAULT_HOLD_SECONDS,
        deposit_chunk: int | None = None,
        observer: StepObserver | None = None,
        pending_timeout_s: float = 60.0,
        clock: Callable[[], datetime] = utcnow,
        confirmations: int = 0,
        confirmation_wait_s: float = 30.0,
        confirmation_poll_s: float = 0.5,
    ) -> None:
        self.sessions = sessions
        self.platform = platform
        self.sender = sender
        self.merchant_addresses = merchant_addresses
        self.payer = Web3.to_checksum_address(payer or sender.address)
        refusal = _unpayable_reason(self.payer, platform)
        if refusal is not None:  # every deposit would revert: refuse to start rather than stall
            raise ValidationError(f"the escrow cannot pay the payer {self.payer} back: it {refusal}")
        self.hold_seconds = hold_seconds
        self.deposit_chunk = deposit_chunk or _chunk_for_block(platform.w3)
        self.observer = observer
        self.pending_timeout_s = pending_timeout_s
        self.clock = clock
        self.confirmations = confirmations
        self.confirmation_wait_s = confirmation_wait_s
        self.confirmation_poll_s = confirmation_poll_s
        self.lock = SenderLock.for_sessions(sessions, sender.address)

    # ------------------------------------------------------------------ public

    def run_once(self, max_batch: int = MAX_ESCROW_BATCH) -> MintReport:
        """Recovers open batches, then claims and mints one new batch of up to ``max_batch``.

        Returns:
            What was done; an idle run returns an empty report.

        Raises:
            ChainError: the node failed or refused; the batch stays open and the next run resumes
                it from the chain's state.
        """
        if max_batch < 1:
            raise ValueError("max_batch must be at least 1")
        report = MintReport()
        with self.lock.hold():
            for open_id in self._open_batches():
                self._drive(open_id, report)
        batch_id = self._claim(max_batch, report)
        if batch_id is not None:
            self._notify("recorded", batch_id)
            with self.lock.hold():
                self._drive(batch_id, report)
        return report

    # ------------------------------------------------------------------ claim

    def _claim(self, max_batch: int, report: MintReport) -> uuid.UUID | None:
        """Takes up to ``max_batch`` unclaimed pending_stellar payments into a committed batch."""
        with self.sessions.begin() as session:
            statement = (
                select(Payment)
                .outerjoin(EscrowHolding, EscrowHolding.payment_id == Payment.id)
                .where(
                    Payment.status == str(PaymentStatus.PENDING_STELLAR), EscrowHolding.payment_id.is_(None)
                )
                .order_by(Payment.updated_at, Payment.id)
                .limit(max_batch)
                .with_for_update(skip_locked=True, of=Payment)
            )
            candidates = list(session.scalars(statement))
            if not candidates:
                return None
            addresses = self.merchant_addresses(session, {p.merchant_id for p in candidates})
            payable = []
            for payment in candidates:
                address = addresses.get(payment.merchant_id)
                refusal = (
                    f"merchant {payment.merchant_id} has no EVM address to mint to"
                    if address is None
                    else self._unpayable(payment.merchant_id, address)
                )
                if refusal is not None:
                    self._fail(session, payment, refusal)
                    report.failed += 1
                else:
                    assert address is not None
                    payable.append((payment, Web3.to_checksum_address(address)))
            if not payable:
                return None
            now = self.clock()
            batch = MintBatch(
                id=uuid.uuid4(),
                state=str(MintBatchState.RECORDED),
                depositor=self.sender.address,
                total_amount=sum(p.idr_amount for p, _ in payable),
                minted_amount=0,
                deposit_tx_hashes=[],
                created_at=now,
                updated_at=now,
            )
            session.add(batch)
            session.flush()
            taken = 0
            for payment, address in payable:
                # A minter that read the payment before our claim committed may try it too: the
                # holding's primary key lets exactly one batch have it.
                if insert_or_ignore(
                    session,
                    EscrowHolding.__table__,  # type: ignore[arg-type]
                    {
                        "payment_id": payment.id,
                        "batch_id": batch.id,
                        "escrow_id": "0x" + escrow_payment_id(payment.id).hex(),
                        "merchant_id": payment.merchant_id,
                        "merchant_address": address,
                        "amount": payment.idr_amount,
                    },
                    ["payment_id"],
                ):
                    taken += 1
                else:
                    batch.total_amount -= payment.idr_amount
            if taken == 0:
                session.delete(batch)
                return None
            report.claimed += taken
            report.claimed_batch = batch.id
            return batch.id

    # ------------------------------------------------------------------ drive

    def _open_batches(self) -> list[uuid.UUID]:
        with self.sessions() as session:
            statement = (
                select(MintBatch.id)
                .where(
                    MintBatch.state != str(MintBatchState.COMPLETED),
                    MintBatch.depositor == self.sender.address,
                )
                .order_by(MintBatch.created_at, MintBatch.id)
            )
            return list(session.scalars(statement))

    def _drive(self, batch_id: uuid.UUID, report: MintReport) -> None:
        """Brings a batch to completed from whatever point it reached (under the sender lock).

        Deposits what the chain does not hold, then books only what the chain holds at the
        confirmation depth. A deposit (or mint) that a reorg took away shows as missing again
        and is redone, once, before anything is booked; a batch not confirmed within
        ``confirmation_wait_s`` stays open for the next run.
        """
        self._wait_for_pending()
        with self.sessions() as session:
            batch = session.get(MintBatch, batch_id, populate_existing=True)
            if batch is None or batch.state == MintBatchState.COMPLETED:
                return  # another minter finished it while we waited for the lock
            holdings = list(
                session.scalars(
                    select(EscrowHolding)
                    .where(EscrowHolding.batch_id == batch_id)
                    .order_by(EscrowHolding.escrow_id)
                )
            )
        deadline = time.monotonic() + self.confirmation_wait_s
        found: int | None = None
        while True:
            chain = self._read(holdings)
            missing = [h for h in holdings if chain[h.payment_id].status == ESCROW_STATUS_NONE]
            unpayable = {
                h.payment_id: reason
                for h in missing
                if (reason := self._unpayable(h.merchant_id, h.merchant_address)) is not None
            }
            if unpayable:
                # Claimed before the refusal existed (or the rules changed): never deposited, so
                # it leaves the batch for ``error`` rather than make every depositBatch revert.
                self._drop(batch_id, unpayable, report)
                holdings = [h for h in holdings if h.payment_id not in unpayable]
                missing = [h for h in missing if h.payment_id not in unpayable]
            if found is None:
                found = len(holdings) - len(missing)
            if missing:
                self.sender.reset_nonces()  # a reorg may have dropped what this process sent
                self._fund(batch_id, holdings, chain, report)
                self._deposit(batch_id, missing, report)
                continue  # re-read: book only what the chain shows
            self._update_batch(batch_id, state=MintBatchState.DEPOSITED)
            confirmed = self._confirmed(holdings)
            if confirmed is not None:
                break
            if time.monotonic() >= deadline:
                return  # not deep enough yet: the next run resumes it from the chain
            time.sleep(self.confirmation_poll_s)
        self._notify("deposited", batch_id)
        self._book(batch_id, holdings, confirmed, report)
        report.found_in_escrow += found

    def _unpayable(self, merchant_id: str, address: str) -> str | None:
        """Why the escrow would refuse ``address`` as a deposit's merchant, or None if it would not."""
        reason = _unpayable_reason(address, self.platform)
        return None if reason is None else f"merchant {merchant_id}'s address {address} {reason}"

    def _drop(self, batch_id: uuid.UUID, reasons: dict[uuid.UUID, str], report: MintReport) -> None:
        """Takes never-deposited holdings out of an open batch and moves their payments to ``error``."""
        with self.sessions.begin() as session:
            batch = session.get(MintBatch, batch_id)
            assert batch is not None
            for payment_id, reason in reasons.items():
                holding = session.get(EscrowHolding, payment_id)
                payment = session.get(Payment, payment_id)
                if holding is None or payment is None or holding.batch_id != batch_id:
                    continue
                batch.total_amount -= holding.amount
                session.delete(holding)
                if payment.status == PaymentStatus.PENDING_STELLAR:
                    self._fail(session, payment, reason)
                    report.failed += 1
            batch.updated_at = self.clock()

    def _deposit(self, batch_id: uuid.UUID, missing: Sequence[EscrowHolding], report: MintReport) -> None:
        """``depositBatch`` of the payments the chain does not hold, in chunks that fit a block.

        Deposits need no write-ahead record: the escrow id is the chain's own key, so recovery
        reads ``getPayment`` and never deposits an id twice.
        """
        for chunk in _chunks(missing, self.deposit_chunk):
            receipt = self.sender.transact(
                self.platform.escrow.functions.depositBatch(
                    [
                        (
                            bytes.fromhex(h.escrow_id[2:]),
                            h.merchant_address,
                            self.payer,
                            h.amount,
                            self.hold_seconds,
                        )
                        for h in chunk
                    ]
                )
            )
            tx_hash = receipt["transactionHash"].to_0x_hex()
            report.tx_hashes.append(tx_hash)
            self._notify("deposit_sent", batch_id)
            self._update_batch(batch_id, deposit_tx=tx_hash)

    def _confirmed(self, holdings: Sequence[EscrowHolding]) -> dict[uuid.UUID, EscrowRecord] | None:
        """The escrow records at the confirmation depth if every holding is held there, else None."""
        if self.confirmations == 0:
            return self._read(holdings)
        block = int(self.platform.w3.eth.block_number) - self.confirmations
        if block < 0:
            return None
        chain = self._read(holdings, block)
        if any(record.status == ESCROW_STATUS_NONE for record in chain.values()):
            return None
        return chain

    def _fund(
        self,
        batch_id: uuid.UUID,
        holdings: Sequence[EscrowHolding],
        chain: dict[uuid.UUID, EscrowRecord],
        report: MintReport,
    ) -> None:
        """Makes the depositor hold the batch's missing MSC from the batch's own mint, and lets the
        escrow pull it.

        The batch's MSC is what its mints brought minus what its deposits took: final mints
        (``minted_amount``) plus a written-ahead mint whose receipt is on the chain, minus the
        holdings the escrow holds. Only a shortfall of that is minted, written ahead (signed and
        committed, then broadcast; a restart or a reorg rebroadcasts the same transaction). MSC
        of the key that no batch and no redemption accounts for is never spent here: it is left
        alone and reported by the reconciliation check ``settlement_account_balance_booked``.
        """
        msc = self.platform.msc
        depositor = self.sender.address
        needed = sum(h.amount for h in holdings if chain[h.payment_id].status == ESCROW_STATUS_NONE)
        deposited = sum(h.amount for h in holdings if chain[h.payment_id].status != ESCROW_STATUS_NONE)
        with self.sessions() as session:
            batch = session.get(MintBatch, batch_id, populate_existing=True)
            assert batch is not None
            minted, pending = batch.minted_amount, self._written_mint(batch)
        present = self._settle_written_mint(batch_id, pending) if pending is not None else 0
        own = minted + present - deposited
        if own < needed:
            if present:
                raise ChainError(
                    f"batch {batch_id}: its mint of {present} sen is not final and does not cover "
                    f"{needed} sen; the next run resumes it"
                )
            amount = needed - max(own, 0)
            call = rawtx.sign_call(
                self.platform.w3,
                self.sender.signer,
                self.platform.decoder,
                msc.functions.mint(depositor, amount),
            )
            self._update_batch(batch_id, write_mint=(call, amount))
            receipt = rawtx.broadcast(self.platform.w3, call, self.pending_timeout_s)
            if receipt is None or receipt["status"] != 1:
                self._update_batch(batch_id, drop_mint=True)
                raise ChainError(
                    f"batch {batch_id}: its mint {call.tx_hash} did not happen; retried next run"
                )
            report.tx_hashes.append(call.tx_hash)
            report.minted += amount
            self._notify("minted", batch_id)
        self._update_batch(batch_id, state=MintBatchState.MINTED)
        escrow = self.platform.escrow.address
        if int(msc.functions.allowance(depositor, escrow).call()) < needed:
            receipt = self.sender.transact(msc.functions.approve(escrow, UINT256_MAX))
            report.tx_hashes.append(receipt["transactionHash"].to_0x_hex())

    @staticmethod
    def _written_mint(batch: MintBatch) -> tuple[rawtx.SignedCall, int] | None:
        if batch.mint_raw_tx is None or batch.mint_tx_hash is None or batch.mint_amount is None:
            return None
        return rawtx.SignedCall(batch.mint_tx_hash, batch.mint_raw_tx), batch.mint_amount

    def _settle_written_mint(self, batch_id: uuid.UUID, pending: tuple[rawtx.SignedCall, int]) -> int:
        """Makes sure the batch's written-ahead mint is mined (rebroadcasting the same transaction
        after a crash or a reorg): its amount if it is, 0 (and forgotten) if it can never be."""
        call, amount = pending
        receipt = rawtx.broadcast(self.platform.w3, call, self.pending_timeout_s)
        if receipt is None or receipt["status"] != 1:
            self._update_batch(batch_id, drop_mint=True)  # its nonce went to another transaction
            return 0
        return amount

    def _book(
        self,
        batch_id: uuid.UUID,
        holdings: Sequence[EscrowHolding],
        chain: dict[uuid.UUID, EscrowRecord],
        report: MintReport,
    ) -> None:
        """Completes every payment the chain holds as recorded, posts the ledger, closes the batch."""
        with self.sessions.begin() as session:
            loaded = {
                p.id: p
                for p in session.scalars(
                    select(Payment).where(Payment.id.in_([h.payment_id for h in holdings]))
                )
            }
            rows = {
                r.payment_id: r
                for r in session.scalars(select(EscrowHolding).where(EscrowHolding.batch_id == batch_id))
            }
            for holding in holdings:
                onchain = chain[holding.payment_id]
                payment = loaded[holding.payment_id]
                if payment.status != PaymentStatus.PENDING_STELLAR:
                    continue  # booked by an earlier run that died before closing the batch
                if (onchain.merchant, onchain.amount) != (holding.merchant_address, holding.amount):
                    self._fail(
                        session,
                        payment,
                        f"escrow id {holding.escrow_id} holds {onchain.amount} sen for {onchain.merchant}, "
                        f"not {holding.amount} sen for {holding.merchant_address}",
                    )
                    report.failed += 1
                    continue
                row = rows[holding.payment_id]
                row.release_after = onchain.release_after
                self._move(
                    session, payment, PaymentStatus.COMPLETED, f"MSC held in escrow as {holding.escrow_id}"
                )
                record_msc_minted_to_escrow(session, payment)
                report.completed += 1
            batch = session.get(MintBatch, batch_id)
            assert batch is not None
            if batch.mint_raw_tx is not None and batch.mint_amount is not None:
                # the deposits it paid for are final, so the mint before them is too
                batch.minted_amount += batch.mint_amount
            batch.mint_raw_tx, batch.mint_amount = None, None
            batch.state = str(MintBatchState.COMPLETED)
            batch.updated_at = self.clock()
        report.batches.append(batch_id)

    # ------------------------------------------------------------------ helpers

    def _read(
        self, holdings: Sequence[EscrowHolding], block: int | None = None
    ) -> dict[uuid.UUID, EscrowRecord]:
        ids = [bytes.fromhex(h.escrow_id[2:]) for h in holdings]
        records = read_escrow_records(self.platform.w3, self.platform.escrow.address, ids, block)
        return {h.payment_id: record for h, record in zip(holdings, records, strict=True)}

    def _wait_for_pending(self) -> None:
        """Waits until no transaction of the key is pending, so the balance and the escrow read
        next are final (a pending mint read as missing would be minted again)."""
        w3 = self.platform.w3
        address = Web3.to_checksum_address(self.sender.address)
        deadline = time.monotonic() + self.pending_timeout_s
        while w3.eth.get_transaction_count(address, "pending") > w3.eth.get_transaction_count(
            address, "latest"
        ):
            if time.monotonic() > deadline:
                raise ChainError(
                    f"transactions of {address} are still pending after {self.pending_timeout_s}s; "
                    "minting waits for them"
                )
            time.sleep(0.2)

    def _update_batch(
        self,
        batch_id: uuid.UUID,
        *,
        state: MintBatchState | None = None,
        write_mint: tuple[rawtx.SignedCall, int] | None = None,
        drop_mint: bool = False,
        deposit_tx: str | None = None,
    ) -> None:
        with self.sessions.begin() as session:
            batch = session.get(MintBatch, batch_id)
            assert batch is not None
            if state is not None:
                batch.state = str(state)
            if write_mint is not None:  # committed before the broadcast: the write-ahead record
                call, amount = write_mint
                batch.mint_tx_hash, batch.mint_raw_tx, batch.mint_amount = call.tx_hash, call.raw, amount
            if drop_mint:
                batch.mint_raw_tx, batch.mint_amount = None, None
            if deposit_tx is not None:
                batch.deposit_tx_hashes = [*batch.deposit_tx_hashes, deposit_tx]
            batch.updated_at = self.clock()

    def _move(
        self, session: Session, payment: Payment, to_status: PaymentStatus, reason: str, **values: Any
    ) -> None:
        from_status = PaymentStatus(payment.status)
        PAYMENT_MACHINE.check(payment.id, from_status, to_status)
        if not payments.move(
            session, payment.id, str(from_status), str(to_status), reason, self.clock(), values
        ):
            raise InvalidTransitionError("payment", payment.id, from_status, to_status)

    def _fail(self, session: Session, payment: Payment, reason: str) -> None:
        self._move(session, payment, PaymentStatus.ERROR, reason, error_reason=reason)

    def _notify(self, step: Step, batch_id: uuid.UUID) -> None:
        if self.observer is not None:
            self.observer(step, batch_id)


def _unpayable_reason(address: str, platform: Platform) -> str | None:
    """Why ``MerchantEscrow`` refuses ``address`` as a deposit's merchant or payer
    (``EscrowZeroAddress``, ``EscrowPartyUnpayable``), or None: checked before a payment is batched,
    so one bad address never makes a whole ``depositBatch`` revert."""
    if not Web3.is_address(address):
        return "is not an EVM address"
    checksum = Web3.to_checksum_address(address)
    if int(checksum, 16) == 0:
        return "is the zero address"
    if checksum == Web3.to_checksum_address(platform.msc.address):
        return "is the MSC token, which the escrow cannot pay"
    if checksum == Web3.to_checksum_address(platform.escrow.address):
        return "is the escrow itself, which cannot pay itself"
    return None


def _chunk_for_block(w3: Web3) -> int:
    """Payments per depositBatch that fit the latest block's gas limit with the sender's buffer."""
    gas_limit = int(w3.eth.get_block("latest")["gasLimit"])
    return max(1, min(MAX_ESCROW_BATCH, gas_limit * 10 // 13 // DEPOSIT_GAS_PER_PAYMENT))


def _chunks(items: Sequence[EscrowHolding], size: int) -> Iterator[Sequence[EscrowHolding]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
