"""Escrow pay-backs: Pi to the customer from the app wallet, then the MSC burned; each step written ahead.

Steps (:class:`~settlement.paybacks.models.PaybackStatus`), each state committed before the side
effect that follows it, so a crash anywhere resumes without paying or burning twice:

1. ``discover``: one pay-back per ``customer_refunds_owed`` credit entry, keyed by the entry's
   idempotency key (``escrow:<tx>:<log>``: the escrow books' exactly-once carries through), with
   the MSC paid back, the Pi owed (:mod:`settlement.paybacks.share`, computed under a lock of the
   payment's row so the parts never add up to more than the payment's ``pi_amount``) and the
   settlement address the escrow paid it to (the depositor of the payment's mint batch) -> ``owed``.
2. ``owed -> pi_created``: the customer's uid is read from Pi's record of their payment and an
   app-to-user payment is created with ``payback_id`` in its metadata; a lost answer is adopted
   when the retry gets ``ongoing_payment_found`` carrying our ``payback_id``.
3. ``pi_created -> pi_submitted``: the app wallet's one in-flight slot is taken
   (:mod:`settlement.pi.wallet_slots`, shared with :mod:`settlement.flow.refunds`), the payout
   signed, its envelope and txid recorded BEFORE it is submitted.
4. ``pi_submitted -> pi_paid``: the same envelope is submitted (resubmitted unchanged through 5xx
   and ``tx_too_early``; an expired or superseded one is signed again only after the ledger says it
   is absent), the payment completed on Pi; in one transaction: ``pi_paid``, the slot released,
   the Pi booked (``payback_pi_paid``).
5. ``pi_paid -> burn_written``: under the settlement key's sender lock, ``burn(msc)`` is signed
   and stored before it is sent.
6. ``burn_written -> completed``: the stored burn is sent (or found mined); in one transaction:
   ``completed`` and the burn booked (``payback_burned``: ``customer_refunds_owed`` cleared).

A pay-back owing 0 Pi (a refund of a few sen) goes from ``owed`` to ``pi_paid`` with nothing on Pi.

Where the MSC must be: the escrow pays back to the payer of record of each deposit, which is the
depositor of the payment's mint batch. A service burns only from its own settlement key: a
pay-back whose MSC sits at another address (a depositor key since rotated, another settlement
process's key) is left ``owed`` and reported as ``elsewhere`` by :meth:`PaybackService.run_once`,
and no Pi is paid for it, because Pi is paid only when its MSC can be burned. Its MSC stays
counted as owed at that address by the ``settlement_account_balance_booked`` check; an operator
runs the pay-backs with that key (or moves the MSC and the records). MSC paid back for an escrow
payment that is not a settlement payment is never booked (the escrow books skip it) and so never
paid back here.

Failures for an operator (``failed`` with ``error_reason``): Pi refuses to create the payment for
the customer (not a transient 5xx), the network rejects the payout, the payout lands failed, the
burn's dry run or the burn reverts. :meth:`PaybackService.retry` resumes a failed pay-back where
nothing can have happened twice.
"""

from __future__ import annotations

import contextlib
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import CursorResult, func, select, update
from sqlalchemy.orm import Session, sessionmaker
from stellar_sdk import Keypair, TransactionEnvelope

from chain.errors import ChainError, ContractRevertError
from chain.platform import Platform
from chain.signer import Signer
from common.errors import ConflictError, MSCError, NotFoundError
from common.sql.helpers import insert_or_ignore, utcnow
from settlement.flow.errors import WalletBusyError
from settlement.flow.settings import FlowSettings
from settlement.ledger import chart
from settlement.ledger.flows import record_payback_burned, record_payback_pi_paid
from settlement.ledger.models import Currency, JournalEntry, LedgerAccount, Posting
from settlement.minting.chainlock import SenderLock
from settlement.minting.models import EscrowHolding, MintBatch
from settlement.paybacks.models import Payback, PaybackStatus
from settlement.paybacks.share import pi_share
from settlement.payments.models import Payment
from settlement.pi import wallet_slots
from settlement.pi.horizon import (
    PiHorizon,
    PiLedgerNotFoundError,
    PiPayoutExpiredError,
    PiSubmitRejectedError,
    PiTransaction,
    payout_record,
)
from settlement.pi.platform_client import (
    PiOngoingPaymentFoundError,
    PiPlatformClient,
    PiPlatformError,
    PiPlatformUnavailableError,
    PiUnauthorizedError,
)
from settlement.redemption import rawtx
from settlement.workers.locking import StepLocks

log = logging.getLogger(__name__)

B = PaybackStatus
#: Unfinished states, resumed in this order: the wallet slot's holder and the burns first.
IN_FLIGHT = (B.PI_SUBMITTED, B.BURN_WRITTEN, B.PI_PAID, B.PI_CREATED, B.OWED)

Hook = Callable[[str], None]
#: Seconds after a superseded envelope's ``max_time`` before it is taken as never landed (Horizon's
#: ingestion may lag the ledger that already applied it).
RESIGN_GRACE = 30


class PaybackNotFoundError(NotFoundError):
    """No pay-back has this id."""

    code = "payback_not_found"

    def __init__(self, payback_id: uuid.UUID) -> None:
        super().__init__(f"pay-back {payback_id} does not exist", payback_id=str(payback_id))


class PaybackWaitingError(ConflictError):
    """The customer has another Pi payment ongoing with the app; Pi allows one: try again later."""

    code = "payback_waiting"

    def __init__(self, payback_id: uuid.UUID, ongoing: str | None) -> None:
        super().__init__(
            f"pay-back {payback_id} waits: Pi payment {ongoing} is ongoing for the same customer",
            payback_id=str(payback_id),
        )


class PayoutUnsettledError(ConflictError):
    """The network refuses the recorded payout as superseded, and Horizon does not know it yet:
    it may be applied and not ingested. Signed again only after its time bounds are well past."""

    code = "payback_payout_unsettled"

    def __init__(self, payback_id: uuid.UUID, txid: str, settled_after: int) -> None:
        super().__init__(
            f"pay-back {payback_id}: payout {txid} is not on Horizon yet; known by unix time {settled_after}",
            payback_id=str(payback_id),
        )


class PaybackNotRetryableError(ConflictError):
    """Only a failed pay-back can be retried."""

    code = "payback_not_retryable"

    def __init__(self, payback_id: uuid.UUID, status: str) -> None:
        super().__init__(
            f"pay-back {payback_id} is {status}; only a failed one can be retried", payback_id=str(payback_id)
        )


@dataclass
class PaybackReport:
    """What one run did."""

    created: int = 0
    """Pay-backs recorded for new ``customer_refunds_owed`` entries."""
    completed: list[uuid.UUID] = field(default_factory=list)
    failed: list[uuid.UUID] = field(default_factory=list)
    waiting: list[uuid.UUID] = field(default_factory=list)
    """Stepped as far as possible now (busy wallet, ongoing payment, a service unavailable)."""
    elsewhere: int = 0
    """Owed pay-backs whose MSC sits at another settlement address (not this service's key)."""


def _never(_point: str) -> None:
    """The default hook: nothing happens between the steps."""


class PaybackService:
    """Pays escrow pay-backs in Pi and burns their MSC (see the module docstring).

    Args:
        sessions: The settlement database.
        platform_client: Pi Platform API client of the app.
        horizon: Pi Horizon client (builds, signs, submits).
        app_keypair: The app wallet's key (signs payouts).
        chain: The deployed contracts.
        signer: The settlement key: the escrow's depositor, where the MSC comes back; an MSC minter
            (burns it).
        settings: Time bounds of payout transactions.
        clock: Current UTC time.
        hook: Called with a point's name after each state is committed and right after each side
            effect (``pi_answered``, ``pi_created``, ``pi_submitted``, ``pi_sent``, ``pi_completed``,
            ``pi_paid``, ``burn_written``, ``burn_sent``, ``completed``); tests raise there to crash
            the process.
        locks: Per-pay-back locks (default: on the settlement database); one process steps a
            pay-back at a time.
    """

    def __init__(
        self,
        sessions: sessionmaker[Session],
        platform_client: PiPlatformClient,
        horizon: PiHorizon,
        app_keypair: Keypair,
        chain: Platform,
        signer: Signer,
        *,
        settings: FlowSettings | None = None,
        clock: Callable[[], datetime] = utcnow,
        hook: Hook = _never,
        locks: StepLocks | None = None,
    ) -> None:
        self.sessions = sessions
        self.pi = platform_client
        self.horizon = horizon
        self.app_keypair = app_keypair
        self.app_address = app_keypair.public_key
        self.chain = chain
        self.signer = signer
        self.settings = settings or FlowSettings()
        self.clock = clock
        self.hook = hook
        self.lock = SenderLock.for_sessions(sessions, signer.address)
        self.locks = locks or StepLocks(sessions.kw["bind"])

    # ------------------------------------------------------------------------------------ API

    def run_once(self) -> PaybackReport:
        """Records pay-backs for new entries, then steps every unfinished one of this key."""
        report = PaybackReport(created=self.discover())
        self._cancel_abandoned_on_pi()
        with self.sessions() as session:
            rows = list(
                session.execute(
                    select(Payback.id, Payback.status, Payback.payer).where(
                        Payback.status.in_([str(s) for s in IN_FLIGHT])
                    )
                )
            )
        rows.sort(key=lambda r: IN_FLIGHT.index(B(r.status)))
        for payback_id, status, payer in rows:
            if status == B.OWED and payer.lower() != self.signer.address.lower():
                report.elsewhere += 1
                continue
            try:
                done = self.process(payback_id)
            except MSCError as exc:
                log.info("pay-back %s waits: %s", payback_id, exc.message)
                report.waiting.append(payback_id)
                continue
            if done.status == B.COMPLETED:
                report.completed.append(payback_id)
            elif done.status == B.FAILED:
                report.failed.append(payback_id)
        return report

    def discover(self) -> int:
        """Records one pay-back for each ``customer_refunds_owed`` credit that has none; how many."""
        created = 0
        for entry_id, key, reference, amount in self._unpaid_entries():
            try:
                payment_id = uuid.UUID(str(reference))
            except ValueError:
                log.warning("customer_refunds_owed entry %s names no payment (%r)", key, reference)
                continue
            created += self._record(entry_id, key, payment_id, amount)
        return created

    def process(self, payback_id: uuid.UUID, max_steps: int = 10) -> Payback:
        """Steps the pay-back until it is completed or failed (or ``max_steps`` are used).

        Raises:
            WalletBusyError: another payout holds the app wallet; call again later.
            PaybackWaitingError: another Pi payment of the customer is ongoing; call again later.
            PayoutUnsettledError: a superseded payout is not yet known never to land; call again.
            StepBusyError: another process steps this pay-back now.
            PiPlatformError, PiHorizonError, ChainError: a service refused or is unavailable; call again.
        """
        # One process at a time per pay-back: two would sign two envelopes (only one is recorded,
        # but the other's submitter could take the recorded one's failure for its own).
        with self.locks.hold("payback", str(payback_id), wait_seconds=0):
            for _ in range(max_steps):
                payback = self.get(payback_id)
                status = B(payback.status)
                if status == B.OWED:
                    self._create_on_pi(payback)
                elif status == B.PI_CREATED:
                    self._sign(payback)
                elif status == B.PI_SUBMITTED:
                    self._submit(payback)
                elif status == B.PI_PAID:
                    self._write_burn(payback)
                elif status == B.BURN_WRITTEN:
                    self._send_burn(payback)
                else:
                    return payback
        return self.get(payback_id)

    def retry(self, payback_id: uuid.UUID) -> Payback:
        """An operator's retry of a failed pay-back, from where nothing can happen twice: before
        the Pi payout (its Pi payment was cancelled, a new one is created) or before the burn.

        Raises:
            PaybackNotRetryableError: it is not failed.
        """
        payback = self.get(payback_id)
        if payback.status != B.FAILED:
            raise PaybackNotRetryableError(payback_id, payback.status)
        if payback.failed_from in (B.PI_PAID, B.BURN_WRITTEN):
            back, values = B.PI_PAID, {"burn_tx_hash": None, "burn_raw_tx": None}
        else:
            back = B.OWED
            values = {
                "pi_payment_id": None,
                "to_address": None,
                "txid": None,
                "envelope_xdr": None,
                "max_time": None,
            }
        self._move(payback_id, B.FAILED, back, error_reason=None, failed_from=None, **values)
        return self.get(payback_id)

    def get(self, payback_id: uuid.UUID) -> Payback:
        """The pay-back as committed now.

        Raises:
            PaybackNotFoundError: none.
        """
        with self.sessions() as session:
            payback = session.get(Payback, payback_id, populate_existing=True)
        if payback is None:
            raise PaybackNotFoundError(payback_id)
        return payback

    # ------------------------------------------------------------------------------ discovery

    def _unpaid_entries(self) -> list[tuple[int, str, str | None, int]]:
        """(entry id, key, reference, sen) of credits to ``customer_refunds_owed`` without a pay-back."""
        with self.sessions() as session:
            return [
                (int(entry_id), str(key), reference, -int(amount))
                for entry_id, key, reference, amount in session.execute(
                    select(
                        JournalEntry.id, JournalEntry.idempotency_key, JournalEntry.reference, Posting.amount
                    )
                    .join(Posting, Posting.entry_id == JournalEntry.id)
                    .join(LedgerAccount, LedgerAccount.id == Posting.account_id)
                    .outerjoin(Payback, Payback.source_key == JournalEntry.idempotency_key)
                    .where(
                        LedgerAccount.code == chart.CUSTOMER_REFUNDS_OWED.code,
                        LedgerAccount.currency == str(Currency.IDR),
                        Posting.amount < 0,
                        Payback.id.is_(None),
                    )
                    .order_by(JournalEntry.id)
                )
            ]

    def _record(self, entry_id: int, key: str, payment_id: uuid.UUID, msc: int) -> int:
        with self.sessions() as session, session.begin():
            # The payment's row lock serialises the pay-backs of one payment (PostgreSQL; SQLite
            # writers are serial): each share is computed from the ones recorded before it.
            payment = session.scalars(
                select(Payment).where(Payment.id == payment_id).with_for_update()
            ).one_or_none()
            payer = session.scalar(
                select(MintBatch.depositor)
                .join(EscrowHolding, EscrowHolding.batch_id == MintBatch.id)
                .where(EscrowHolding.payment_id == payment_id)
            )
            if payment is None or payer is None:
                log.warning("customer_refunds_owed entry %s: payment %s was not minted here", key, payment_id)
                return 0
            before = int(
                session.scalar(
                    select(func.coalesce(func.sum(Payback.msc_amount), 0)).where(
                        Payback.payment_id == payment_id
                    )
                )
                or 0
            )
            paid = int(
                session.scalar(
                    select(func.coalesce(func.sum(Payback.pi_amount), 0)).where(
                        Payback.payment_id == payment_id
                    )
                )
                or 0
            )
            share = pi_share(payment.pi_amount, payment.fee_pi, payment.idr_amount, before, msc)
            pi = min(share.pi, payment.pi_amount - paid)  # belt and braces: never above what was paid
            now = self.clock()
            inserted = insert_or_ignore(
                session,
                Payback.__table__,  # type: ignore[arg-type]
                {
                    "id": uuid.uuid4(),
                    "source_key": key,
                    "payment_id": payment_id,
                    "payer": str(payer),
                    "msc_amount": msc,
                    "pi_amount": pi,
                    "fee_pi": min(share.fee, pi),
                    "status": str(B.OWED),
                    "created_at": now,
                    "updated_at": now,
                },
                ["source_key"],
            )
            log.debug("pay-back of entry %s (id %d) recorded: %s", key, entry_id, inserted)
            return int(inserted)

    # ---------------------------------------------------------------------------------- steps

    def _create_on_pi(self, payback: Payback) -> None:
        if payback.payer.lower() != self.signer.address.lower():
            raise PaybackElsewhereError(payback.id, payback.payer, self.signer.address)
        if payback.pi_amount == 0:
            self._move(payback.id, B.OWED, B.PI_PAID)  # nothing to pay in Pi; the MSC is still burned
            self.hook("pi_paid")
            return
        with self.sessions() as session:
            payment = session.get(Payment, payback.payment_id)
            assert payment is not None  # a foreign key
            pi_payment_id = payment.pi_payment_id
        metadata = {"payback_id": str(payback.id), "payment_id": str(payback.payment_id)}
        try:
            uid = payback.user_uid or self.pi.get_payment(pi_payment_id).user_uid
            created = self.pi.create_payment(
                amount=payback.pi_amount,
                memo=f"Refund of Pi payment {pi_payment_id}",
                metadata=metadata,
                uid=uid,
            )
        except PiOngoingPaymentFoundError as exc:
            # Ours if it carries our pay-back id: an earlier attempt whose answer was lost created it.
            if exc.payment is None or (exc.payment.metadata or {}).get("payback_id") != str(payback.id):
                raise PaybackWaitingError(
                    payback.id, exc.payment.identifier if exc.payment else None
                ) from exc
            created = exc.payment
        except PiPlatformError as exc:
            # Pi said no, with its reason (e.g. no such user): an operator's case. Anything else
            # (unavailable, an unreadable answer, our key refused) is retried by the next run.
            if (
                isinstance(exc, PiPlatformUnavailableError | PiUnauthorizedError)
                or "pi_error" not in exc.details
            ):
                raise
            self._fail(payback, f"Pi refused the app-to-user payment: {exc.message}")
            return
        self.hook("pi_answered")
        if (
            created.direction != "app_to_user"
            or created.amount != payback.pi_amount
            or created.from_address != self.app_address
        ):
            self._fail(
                payback,
                f"Pi payment {created.identifier} ({created.direction}, {created.amount}) does not match "
                f"pay-back {payback.id} ({payback.pi_amount} to be paid from the app wallet)",
            )
            return
        self._move(
            payback.id,
            B.OWED,
            B.PI_CREATED,
            pi_payment_id=created.identifier,
            to_address=created.to_address,
            user_uid=uid if payback.user_uid is None else payback.user_uid,
        )
        self.hook("pi_created")

    def _sign(self, payback: Payback) -> None:
        assert payback.pi_payment_id is not None and payback.to_address is not None
        # Take the slot BEFORE reading the sequence number, so no other payout can use it meanwhile.
        with self.sessions() as session, session.begin():
            if not wallet_slots.take(session, self.app_address, _holder(payback.id), self.clock()):
                raise WalletBusyError(self.app_address, payback.id)
        envelope = self.horizon.build_payout(
            self.app_keypair,
            payback.to_address,
            payback.pi_amount,
            payback.pi_payment_id,
            timeout_seconds=self.settings.refund_timeout_seconds,
        )
        self._move(payback.id, B.PI_CREATED, B.PI_SUBMITTED, **payout_record(envelope))
        self.hook("pi_submitted")

    def _submit(self, payback: Payback) -> None:
        assert payback.envelope_xdr is not None and payback.txid is not None
        envelope = TransactionEnvelope.from_xdr(payback.envelope_xdr, self.horizon.network_passphrase)
        again = {"txid": None, "envelope_xdr": None, "max_time": None}
        try:
            tx = self.horizon.submit(envelope)
        except PiPayoutExpiredError:
            # Never included and never can be: sign again (the slot stays ours) with a fresh sequence.
            self._move(payback.id, B.PI_SUBMITTED, B.PI_CREATED, **again)
            return
        except PiSubmitRejectedError as exc:
            if exc.tx_code in ("tx_bad_seq", "tx_too_late"):
                # An envelope that landed earlier (answer lost) is refused as too late or with a used
                # sequence when resubmitted: ask the ledger before signing a second payout.
                landed = self._landed(payback.txid)
                if landed is None:
                    # Horizon may not have ingested a transaction the network already applied: sign
                    # again only once the recorded envelope's time bounds are well past.
                    settled_after = (payback.max_time or 0) + RESIGN_GRACE
                    if payback.max_time is None or self.clock().timestamp() <= settled_after:
                        raise PayoutUnsettledError(payback.id, payback.txid, settled_after) from exc
                    self._move(payback.id, B.PI_SUBMITTED, B.PI_CREATED, **again)
                    return
                tx = landed
            else:
                self._fail(
                    payback, f"the network rejected payout {exc.tx_hash}: {exc.tx_code} {exc.op_codes}"
                )
                return
        assert tx.hash == payback.txid  # the envelope is the one recorded
        self.hook("pi_sent")
        if not tx.successful:
            self._fail(payback, f"payout {tx.hash} was included but failed on the ledger")
            return
        assert payback.pi_payment_id is not None
        self.pi.complete_payment_reconciled(payback.pi_payment_id, tx.hash)
        self.hook("pi_completed")
        with self.sessions() as session, session.begin():
            if not self._move_in(session, payback.id, B.PI_SUBMITTED, B.PI_PAID):
                return
            wallet_slots.release(session, self.app_address, _holder(payback.id))
            row = session.get(Payback, payback.id, populate_existing=True)
            assert row is not None
            record_payback_pi_paid(session, row)
        self.hook("pi_paid")

    def _write_burn(self, payback: Payback) -> None:
        with self.lock.hold():
            try:
                call = rawtx.sign_call(
                    self.chain.w3,
                    self.signer,
                    self.chain.decoder,
                    self.chain.msc.functions.burn(payback.msc_amount),
                )
            except ContractRevertError as exc:
                self._fail(payback, f"the burn of {payback.msc_amount} sen would revert: {exc.message}")
                return
            self._move(payback.id, B.PI_PAID, B.BURN_WRITTEN, burn_tx_hash=call.tx_hash, burn_raw_tx=call.raw)
        self.hook("burn_written")

    def _send_burn(self, payback: Payback) -> None:
        assert payback.burn_tx_hash is not None and payback.burn_raw_tx is not None
        with self.lock.hold():
            receipt = rawtx.broadcast(
                self.chain.w3, rawtx.SignedCall(payback.burn_tx_hash, payback.burn_raw_tx)
            )
            if receipt is None:
                # Its nonce went to another transaction of the key: it can never be mined. Sign again.
                call = rawtx.sign_call(
                    self.chain.w3,
                    self.signer,
                    self.chain.decoder,
                    self.chain.msc.functions.burn(payback.msc_amount),
                )
                self._move(
                    payback.id,
                    B.BURN_WRITTEN,
                    B.BURN_WRITTEN,
                    burn_tx_hash=call.tx_hash,
                    burn_raw_tx=call.raw,
                )
                raise ChainError(f"the burn of pay-back {payback.id} lost its nonce; signed again")
        self.hook("burn_sent")
        if receipt["status"] != 1:
            self._fail(payback, f"the burn {payback.burn_tx_hash} reverted on-chain; nothing was burned")
            return
        with self.sessions() as session, session.begin():
            if not self._move_in(session, payback.id, B.BURN_WRITTEN, B.COMPLETED):
                return
            row = session.get(Payback, payback.id, populate_existing=True)
            assert row is not None
            record_payback_burned(session, row)
        self.hook("completed")

    def _fail(self, payback: Payback, reason: str) -> None:
        status = B(payback.status)
        if status in (B.PI_CREATED, B.PI_SUBMITTED) and payback.pi_payment_id is not None:
            # Unblock the customer on Pi; a linked transaction or an earlier cancel makes Pi refuse.
            with contextlib.suppress(PiPlatformError):
                self.pi.cancel_payment(payback.pi_payment_id)
        with self.sessions() as session, session.begin():
            self._move_in(session, payback.id, status, B.FAILED, error_reason=reason, failed_from=str(status))
            wallet_slots.release(session, self.app_address, _holder(payback.id))
        log.warning("pay-back %s failed in %s: %s", payback.id, status, reason)

    def _cancel_abandoned_on_pi(self) -> None:
        """Cancels our app-to-user payments Pi lists as incomplete that no pay-back will finish (its
        pay-back failed, or went on with another Pi payment): each blocks that customer on Pi."""
        try:
            incomplete = self.pi.incomplete_server_payments()
        except PiPlatformError as exc:
            log.info("Pi's incomplete payments not read: %s", exc.message)
            return
        for pi in incomplete:
            payback_id = _payback_id_of(pi.metadata)
            if payback_id is None or pi.transaction is not None:
                continue  # not ours, or a payout is linked: the pay-back's own steps finish it
            with self.sessions() as session:
                payback = session.get(Payback, payback_id)
            if payback is None:
                continue
            other = payback.pi_payment_id is not None and payback.pi_payment_id != pi.identifier
            if payback.status == B.FAILED or other:
                with contextlib.suppress(PiPlatformError):
                    self.pi.cancel_payment(pi.identifier)

    # -------------------------------------------------------------------------------- helpers

    def _landed(self, txid: str) -> PiTransaction | None:
        try:
            return self.horizon.get_transaction(txid)
        except PiLedgerNotFoundError:
            return None

    def _move(self, payback_id: uuid.UUID, from_status: B, to_status: B, **values: Any) -> bool:
        with self.sessions() as session, session.begin():
            return self._move_in(session, payback_id, from_status, to_status, **values)

    def _move_in(
        self, session: Session, payback_id: uuid.UUID, from_status: B, to_status: B, **values: Any
    ) -> bool:
        """``UPDATE paybacks SET status = to ... WHERE id AND status = from``; True if it matched."""
        result = session.execute(
            update(Payback)
            .where(Payback.id == payback_id, Payback.status == str(from_status))
            .values(status=str(to_status), updated_at=self.clock(), **values)
            .execution_options(synchronize_session=False)
        )
        assert isinstance(result, CursorResult)
        return result.rowcount == 1


class PaybackElsewhereError(ConflictError):
    """The pay-back's MSC sits at another settlement address than this service's key: it cannot
    burn it, so it pays no Pi for it either."""

    code = "payback_elsewhere"

    def __init__(self, payback_id: uuid.UUID, payer: str, ours: str) -> None:
        super().__init__(
            f"pay-back {payback_id}: its MSC was paid back to {payer}, not to this settlement key {ours}",
            payback_id=str(payback_id),
            payer=payer,
        )


def _payback_id_of(metadata: dict[str, Any] | None) -> uuid.UUID | None:
    raw = (metadata or {}).get("payback_id")
    try:
        return uuid.UUID(str(raw)) if raw is not None else None
    except ValueError:
        return None


def _holder(payback_id: uuid.UUID) -> str:
    """The pay-back's name as a holder of the app wallet's payout slot."""
    return f"payback:{payback_id}"
