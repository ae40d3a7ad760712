"""Refunds in Pi: app-to-user payouts returning what a refused payment brought in.

Steps, each committed before the next side effect (a crash anywhere loses nothing and pays nothing
twice):

1. ``request``: a refund record for a payment in ``error`` whose transaction brought Pi (the
   amount that actually arrived, read from Horizon), one per payment (unique ``payment_id``).
2. ``requested -> created``: the app-to-user payment is created on the Pi platform
   (``POST /payments``) with ``refund_id`` in its metadata. If the answer is lost, the retry gets
   ``ongoing_payment_found`` carrying that payment, and it is adopted by its ``refund_id``.
3. ``created -> submitted``: the refund takes the app wallet's one in-flight slot
   (:mod:`settlement.pi.wallet_slots`, shared with the escrow pay-backs of :mod:`settlement.paybacks`,
   so two payouts never sign the same sequence number), builds and signs a native payment with the
   Pi payment identifier as memo and short time bounds (stellar-sdk), and records the txid and the
   signed envelope BEFORE submitting it.
4. ``submitted -> completed``: the same signed envelope is submitted, and resubmitted unchanged on
   5xx or ``tx_too_early`` until its time bounds pass (:meth:`PiHorizon.submit`); Horizon answers a
   duplicate with the included result, never a second payment. Then the payment is completed on
   Pi, and in one transaction the refund is completed, the slot released and the customer's
   payment moved to ``refunded``. An envelope that expired unincluded is signed again (fresh
   sequence number); one the network rejected fails the refund for an operator.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import CursorResult, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker
from stellar_sdk import Keypair, TransactionEnvelope

from common.errors import ConflictError, MSCError
from common.sql.helpers import insert_or_ignore
from settlement.flow.errors import NothingToRefundError, RefundNotFoundError, WalletBusyError
from settlement.flow.models import PiRefund, RefundStatus
from settlement.flow.settings import FlowSettings
from settlement.payments.models import PaymentStatus as S
from settlement.payments.service import PaymentService
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
    PiAlreadyCancelledError,
    PiOngoingPaymentFoundError,
    PiPayment,
    PiPlatformClient,
    PiPlatformError,
)

R = RefundStatus
_IN_FLIGHT = (R.SUBMITTED, R.CREATED, R.REQUESTED)  # resumed in this order: the slot holder first


class RefundMismatchError(ConflictError):
    """The Pi platform's app-to-user payment does not match the refund it was created for."""

    code = "pi_refund_mismatch"


class PiRefundService:
    """Returns Pi to customers from the app wallet.

    Args:
        sessions: Session factory of the settlement database.
        payments: The payment service (for the payment's status move and the clock).
        platform: Pi Platform API client of the app.
        horizon: Pi Horizon client (builds, signs, submits).
        app_keypair: The app wallet's key (signs payouts).
        settings: Time bounds of refund transactions.
    """

    def __init__(
        self,
        sessions: sessionmaker[Session],
        payments: PaymentService,
        platform: PiPlatformClient,
        horizon: PiHorizon,
        app_keypair: Keypair,
        settings: FlowSettings | None = None,
    ) -> None:
        self.sessions = sessions
        self.payments = payments
        self.platform = platform
        self.horizon = horizon
        self.app_keypair = app_keypair
        self.app_address = app_keypair.public_key
        self.settings = settings or FlowSettings()
        self.clock: Callable[[], datetime] = payments.clock

    # ------------------------------------------------------------------------------------ API

    def request(self, payment_id: uuid.UUID, reason: str) -> PiRefund:
        """Records a refund of what the payment's transaction brought in; idempotent per payment.

        Raises:
            NothingToRefundError: the payment is not in ``error`` or brought no Pi.
            PaymentNotFoundError: no such payment.
        """
        with self.sessions() as session:
            payment = self.payments.get(session, payment_id)
            existing = _by_payment(session, payment_id)
        if existing is not None:
            return existing
        if payment.status != S.ERROR:
            raise NothingToRefundError(
                payment_id, f"its status is {payment.status}; only refused payments are"
            )
        if payment.txid is None:
            raise NothingToRefundError(payment_id, "no Pi transaction is recorded for it")
        amount = self._received(payment.txid)
        if amount <= 0:
            raise NothingToRefundError(
                payment_id, f"transaction {payment.txid} brought no Pi to the platform"
            )
        pi = self.platform.get_payment(payment.pi_payment_id)
        now = self.clock()
        with self.sessions() as session, session.begin():
            insert_or_ignore(
                session,
                PiRefund.__table__,  # type: ignore[arg-type]
                {
                    "id": uuid.uuid4(),
                    "payment_id": payment_id,
                    "amount": amount,
                    "user_uid": pi.user_uid,
                    "reason": reason or "refund",
                    "status": str(R.REQUESTED),
                    "created_at": now,
                    "updated_at": now,
                },
                ["payment_id"],
            )
            refund = _by_payment(session, payment_id)
            assert refund is not None
            return refund

    def process(self, refund_id: uuid.UUID, max_steps: int = 8) -> PiRefund:
        """Steps the refund forward until it is completed or failed (or ``max_steps`` are used).

        Raises:
            WalletBusyError: another payout holds the wallet; call again later.
            PiPlatformError, PiHorizonError: Pi or Horizon refused or is unavailable; call again.
        """
        for _ in range(max_steps):
            refund = self.get(refund_id)
            if refund.status == R.REQUESTED:
                self._create_on_pi(refund)
            elif refund.status == R.CREATED:
                self._sign(refund)
            elif refund.status == R.SUBMITTED:
                self._submit(refund)
            else:
                return refund
        return self.get(refund_id)

    def resume_all(self) -> list[uuid.UUID]:
        """Steps every unfinished refund (the wallet's slot holder first); returns those stepped.

        Pi's own list of incomplete app-to-user payments is read too: one created for a refund we
        gave up on (failed) is cancelled there, so it stops blocking that customer.
        """
        failed_on_our_side = self._cancel_abandoned_on_pi()
        with self.sessions() as session:
            rows = list(
                session.scalars(select(PiRefund).where(PiRefund.status.in_([str(s) for s in _IN_FLIGHT])))
            )
        rows.sort(key=lambda r: _IN_FLIGHT.index(R(r.status)))
        stepped: list[uuid.UUID] = []
        for row in rows:
            if row.id in failed_on_our_side:
                continue
            try:
                self.process(row.id)
            except MSCError:
                continue  # busy wallet or an unavailable service: the next run tries again
            stepped.append(row.id)
        return stepped

    def get(self, refund_id: uuid.UUID) -> PiRefund:
        """The refund as committed now.

        Raises:
            RefundNotFoundError: none.
        """
        with self.sessions() as session:
            refund = session.get(PiRefund, refund_id, populate_existing=True)
        if refund is None:
            raise RefundNotFoundError(refund_id)
        return refund

    # ---------------------------------------------------------------------------------- steps

    def _create_on_pi(self, refund: PiRefund) -> None:
        with self.sessions() as session:
            payment = self.payments.get(session, refund.payment_id)
        metadata = {"refund_id": str(refund.id), "payment_id": str(refund.payment_id)}
        try:
            pi = self.platform.create_payment(
                amount=refund.amount,
                memo=f"Refund of Pi payment {payment.pi_payment_id}",
                metadata=metadata,
                uid=refund.user_uid,
            )
        except PiOngoingPaymentFoundError as exc:
            # Ours if it carries our refund id: an earlier attempt whose answer was lost created it.
            if exc.payment is None or (exc.payment.metadata or {}).get("refund_id") != str(refund.id):
                raise
            pi = exc.payment
        if pi.direction != "app_to_user" or pi.amount != refund.amount or pi.from_address != self.app_address:
            raise RefundMismatchError(
                f"Pi payment {pi.identifier} ({pi.direction}, {pi.amount}) does not match refund {refund.id}",
                refund_id=str(refund.id),
            )
        self._update(refund.id, R.REQUESTED, R.CREATED, pi_payment_id=pi.identifier, to_address=pi.to_address)

    def _sign(self, refund: PiRefund) -> None:
        assert refund.pi_payment_id is not None and refund.to_address is not None
        if refund.wallet_slot is None:
            # Take the slot BEFORE reading the sequence number, so no other payout can use it
            # meanwhile; the slot is shared with every other kind of payout (wallet_slots).
            try:
                with self.sessions() as session, session.begin():
                    if not wallet_slots.take(session, self.app_address, _holder(refund.id), self.clock()):
                        raise WalletBusyError(self.app_address, refund.id)
                    taken = self._update_in(
                        session, refund.id, R.CREATED, R.CREATED, wallet_slot=self.app_address, slot_free=True
                    )
            except IntegrityError as exc:
                raise WalletBusyError(self.app_address, refund.id) from exc
            if not taken:
                return
        envelope = self.horizon.build_payout(
            self.app_keypair,
            refund.to_address,
            refund.amount,
            refund.pi_payment_id,
            timeout_seconds=self.settings.refund_timeout_seconds,
        )
        self._update(refund.id, R.CREATED, R.SUBMITTED, **payout_record(envelope))

    def _submit(self, refund: PiRefund) -> None:
        assert refund.envelope_xdr is not None and refund.txid is not None
        envelope = TransactionEnvelope.from_xdr(refund.envelope_xdr, self.horizon.network_passphrase)
        try:
            tx = self.horizon.submit(envelope)
        except PiPayoutExpiredError:
            # It was never included and never can be: sign again with a fresh sequence number.
            self._update(refund.id, R.SUBMITTED, R.CREATED, txid=None, envelope_xdr=None, max_time=None)
            return
        except PiSubmitRejectedError as exc:
            if exc.tx_code in ("tx_bad_seq", "tx_too_late"):
                # stellar-core checks time bounds before the sequence number, so an envelope that
                # landed earlier (answer lost) is refused as too late when resubmitted after
                # max_time: ask the ledger before signing a second payout.
                landed = self._landed(refund.txid)
                if landed is not None:
                    self._settle(refund, landed)
                    return
                self._update(refund.id, R.SUBMITTED, R.CREATED, txid=None, envelope_xdr=None, max_time=None)
                return
            self._fail(
                refund, f"the network rejected refund transaction {exc.tx_hash}: {exc.tx_code} {exc.op_codes}"
            )
            return
        assert tx.hash == refund.txid  # the envelope is the one recorded
        self._settle(refund, tx)

    def _settle(self, refund: PiRefund, tx: PiTransaction) -> None:
        """The refund's transaction is on the ledger: complete it, or fail it if it failed there."""
        if not tx.successful:
            self._fail(refund, f"refund transaction {tx.hash} was included but failed on the ledger")
            return
        self._complete(refund, tx.hash)

    def _complete(self, refund: PiRefund, txid: str) -> None:
        assert refund.pi_payment_id is not None
        self.platform.complete_payment_reconciled(refund.pi_payment_id, txid)
        with self.sessions() as session, session.begin():
            if not self._update_in(session, refund.id, R.SUBMITTED, R.COMPLETED, wallet_slot=None):
                return
            wallet_slots.release(session, self.app_address, _holder(refund.id))
            payment = self.payments.get(session, refund.payment_id)
            if payment.status in (S.ERROR, S.PENDING_ANCHOR):
                self.payments.transition(
                    session,
                    refund.payment_id,
                    S(payment.status),
                    S.REFUNDED,
                    f"{refund.amount} Pi minor units returned by refund {refund.id} (Pi transaction {txid})",
                )

    def _fail(self, refund: PiRefund, reason: str) -> None:
        if refund.pi_payment_id is not None:
            # A linked transaction or an earlier cancellation makes Pi refuse: nothing to unblock then.
            with contextlib.suppress(PiPlatformError):
                self.platform.cancel_payment(refund.pi_payment_id)
        with self.sessions() as session, session.begin():
            self._update_in(
                session, refund.id, R(refund.status), R.FAILED, wallet_slot=None, error_reason=reason
            )
            wallet_slots.release(session, self.app_address, _holder(refund.id))

    # -------------------------------------------------------------------------------- helpers

    def _landed(self, txid: str) -> PiTransaction | None:
        """The transaction ``txid`` if it is on the ledger."""
        try:
            return self.horizon.get_transaction(txid)
        except PiLedgerNotFoundError:
            return None

    def _received(self, txid: str) -> int:
        """Pi minor units ``txid`` moved into the app wallet (0 for a failed transaction)."""
        tx = self.horizon.get_transaction(txid)
        if not tx.successful:
            return 0
        return sum(
            op.amount or 0
            for op in self.horizon.transaction_operations(txid)
            if op.type == "payment" and op.is_native_move and op.to_address == self.app_address
        )

    def _cancel_abandoned_on_pi(self) -> set[uuid.UUID]:
        abandoned: set[uuid.UUID] = set()
        for pi in self.platform.incomplete_server_payments():
            refund_id = _refund_id_of(pi)
            if refund_id is None or pi.transaction is not None:
                continue
            with self.sessions() as session:
                refund = session.get(PiRefund, refund_id)
            if refund is not None and refund.status == R.FAILED:
                with contextlib.suppress(PiAlreadyCancelledError):
                    self.platform.cancel_payment(pi.identifier)
                abandoned.add(refund_id)
        return abandoned

    def _update(self, refund_id: uuid.UUID, from_status: R, to_status: R, **values: Any) -> bool:
        with self.sessions() as session, session.begin():
            return self._update_in(session, refund_id, from_status, to_status, **values)

    def _update_in(
        self,
        session: Session,
        refund_id: uuid.UUID,
        from_status: R,
        to_status: R,
        *,
        slot_free: bool = False,
        **values: Any,
    ) -> bool:
        """``UPDATE pi_refunds SET status = to ... WHERE id AND status = from``; True if it matched."""
        statement = update(PiRefund).where(PiRefund.id == refund_id, PiRefund.status == str(from_status))
        if slot_free:
            statement = statement.where(PiRefund.wallet_slot.is_(None))
        result = session.execute(
            statement.values(status=str(to_status), updated_at=self.clock(), **values).execution_options(
                synchronize_session=False
            )
        )
        assert isinstance(result, CursorResult)
        return result.rowcount == 1


def _holder(refund_id: uuid.UUID) -> str:
    """The refund's name as a holder of the app wallet's payout slot."""
    return f"refund:{refund_id}"


def _by_payment(session: Session, payment_id: uuid.UUID) -> PiRefund | None:
    return session.scalars(select(PiRefund).where(PiRefund.payment_id == payment_id)).one_or_none()


def _refund_id_of(pi: PiPayment) -> uuid.UUID | None:
    raw = (pi.metadata or {}).get("refund_id")
    try:
        return uuid.UUID(str(raw)) if raw is not None else None
    except ValueError:
        return None
