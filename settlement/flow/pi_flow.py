"""The Pi user-to-app payment flow: approve, record the txid, verify on Horizon, complete, credit.

Order of effects, and why (issue #6; pi-platform-docs ``payments.md``):

1. ``approve``: the Pi platform's payment is checked against our record and its quote (bound to
   the payment's merchant and quote by its metadata, :mod:`settlement.flow.binding`; amount,
   direction, destination; quote still firm), approved on Pi, then moved
   ``incomplete -> pending_user_transfer_start``. Approving on Pi first means a crash leaves a
   payment Pi approved and we have not moved; a retry gets ``already_approved``, reads it back
   and makes the move.
2. ``submit_txid``: the txid is recorded under the ``payments.txid`` unique constraint BEFORE
   anything is verified (``-> pending_anchor``), so one Pi transaction can never pay two
   payments, whatever the order of callbacks.
3. ``verify_and_complete``: the transaction is checked on Horizon (:mod:`settlement.flow.checks`);
   only when every rule holds is the payment completed on Pi and, in ONE SQL transaction, moved
   ``pending_anchor -> pending_stellar`` with the ledger postings (Pi received, conversion at the
   quote). Completing on Pi first means a crash leaves Pi completed and us not; the retry gets
   ``already_completed``, which is reconciled by re-reading the payment (same txid = success).
   Any mismatch moves the payment to ``error`` with its reason (and cancels it on Pi when no
   transaction is linked, so it stops blocking the customer's next payment); nothing is credited.

Every step is idempotent: a step whose move was already made (by an earlier call or a concurrent
one) returns the payment as it is. Concurrent callers race on the conditional UPDATE of the status;
exactly one wins, the others roll back (their ledger postings with them) and return the winner's
result. Ledger postings are also idempotent by key, a second line of defence.
"""

from __future__ import annotations

import contextlib
import re
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import exists, select
from sqlalchemy.orm import Session, sessionmaker

from settlement.flow import checks
from settlement.flow.approval import approved_on_pi, catch_up_approval
from settlement.flow.binding import binding_of, binding_refusal, metadata_refusal
from settlement.flow.errors import InvalidTxidError, TxidMismatchError
from settlement.flow.models import PiRefund
from settlement.flow.settings import FlowSettings
from settlement.ledger import flows
from settlement.payments.errors import InvalidTransitionError, PaymentNotFoundError
from settlement.payments.models import Payment
from settlement.payments.models import PaymentStatus as S
from settlement.payments.service import PaymentService
from settlement.pi.horizon import PiHorizon, PiLedgerNotFoundError
from settlement.pi.platform_client import (
    PiAlreadyCancelledError,
    PiPayment,
    PiPlatformClient,
    PiPlatformError,
    PiTxidMismatchError,
    PiVerificationFailedError,
)
from settlement.quotes.models import Quote

_TXID = re.compile(r"^[0-9a-f]{64}$")
# The happy path in order; a move "already made" is one whose target is at or before the status now.
_PROGRESS = (S.INCOMPLETE, S.PENDING_USER_TRANSFER_START, S.PENDING_ANCHOR, S.PENDING_STELLAR, S.COMPLETED)


def normalise_txid(txid: str) -> str:
    """The txid as Horizon writes hashes (lower-case hex).

    Raises:
        InvalidTxidError: not 64 hexadecimal characters.
    """
    value = txid.strip().lower() if isinstance(txid, str) else ""
    if not _TXID.match(value):
        raise InvalidTxidError(str(txid))
    return value


@dataclass(frozen=True)
class PaymentSnapshot:
    """A payment, its quote and whether a Pi refund was started for it, as committed when read.

    Read in one statement (:meth:`PiPaymentFlow.snapshot`). A step may hand the snapshot it
    checked the status on to the flow instead of having it read again: the snapshot only decides
    what to ask Pi and Horizon; every move is still the conditional UPDATE from the status the
    snapshot showed, so a stale snapshot loses that race and changes nothing.
    """

    payment: Payment
    quote: Quote
    has_refund: bool


class PiPaymentFlow:
    """Moves customers' Pi payments from approval to ``pending_stellar`` (ready to mint).

    Args:
        sessions: Session factory of the settlement database; each step commits its own transactions.
        payments: The payment service (its ``quotes`` and ``clock`` are used too).
        platform: Pi Platform API client of the app.
        horizon: Pi Horizon client.
        app_address: The platform's Pi account, the only destination a customer may pay.
        settings: Deadlines (see :class:`FlowSettings`).
    """

    def __init__(
        self,
        sessions: sessionmaker[Session],
        payments: PaymentService,
        platform: PiPlatformClient,
        horizon: PiHorizon,
        app_address: str,
        settings: FlowSettings | None = None,
    ) -> None:
        self.sessions = sessions
        self.payments = payments
        self.platform = platform
        self.horizon = horizon
        self.app_address = app_address
        self.settings = settings or FlowSettings()

    # ------------------------------------------------------------------------------------ steps

    def approve(self, payment_id: uuid.UUID, snapshot: PaymentSnapshot | None = None) -> Payment:
        """Approves on Pi a payment that matches its quote (``-> pending_user_transfer_start``).

        A payment Pi already cancelled becomes ``expired``; one whose quote expired is cancelled on
        Pi and ``expired``; one that does not match the quote is cancelled on Pi and ``error``. One
        whose Pi metadata does not bind it to the payment's merchant and quote is ``error`` and
        left alone on Pi: it is someone else's payment, not ours to approve or cancel.
        Idempotent: a payment past ``incomplete`` is returned unchanged.

        Args:
            payment_id: The payment.
            snapshot: The payment as the caller just read it (:meth:`snapshot`); read here if None.

        Raises:
            PaymentNotFoundError: no such payment.
            PiPlatformError: Pi could not be asked (retry later; nothing changed here).
        """
        payment, quote = self._loaded(payment_id, snapshot)
        if payment.status != S.INCOMPLETE:
            return payment
        pi = self.platform.get_payment(payment.pi_payment_id)
        if pi.status.cancelled or pi.status.user_cancelled:
            reason = "cancelled on the Pi platform before approval"
            return self._move(payment_id, S.INCOMPLETE, S.EXPIRED, reason, error_reason=reason)
        unbound = self._unbound(payment, pi)
        if unbound is not None:
            return self._move(payment_id, S.INCOMPLETE, S.ERROR, unbound, error_reason=unbound)
        mismatch = binding_refusal(
            pi, binding_of(payment), pi_payment_id=payment.pi_payment_id, app_address=self.app_address
        )
        if mismatch is not None:
            self._cancel_on_pi(pi)
            return self._move(payment_id, S.INCOMPLETE, S.ERROR, mismatch, error_reason=mismatch)
        # Pi approves only on our call, which is made only while the quote is firm: an approval Pi
        # already has (our answer was lost) stands even if the quote expired since.
        if not pi.status.developer_approved and self.payments.clock() >= quote.expires_at:
            self._cancel_on_pi(pi)
            reason = f"quote {quote.id} expired at {quote.expires_at.isoformat()} before approval"
            return self._move(payment_id, S.INCOMPLETE, S.EXPIRED, reason, error_reason=reason)
        self.platform.approve_payment_reconciled(pi.identifier)
        return self._move(
            payment_id, S.INCOMPLETE, S.PENDING_USER_TRANSFER_START, "approved on the Pi platform"
        )

    def submit_txid(self, payment_id: uuid.UUID, txid: str) -> Payment:
        """Records the customer's Pi transaction under its unique constraint (``-> pending_anchor``).

        The same txid again is a no-op returning the payment. A payment still ``incomplete`` whose
        Pi payment is approved gets the approval step's move first (:mod:`settlement.flow.approval`);
        one Pi has not approved is refused, as no Pi wallet can have paid it.

        Raises:
            InvalidTxidError: not a transaction hash.
            TxidMismatchError: the payment already has another txid.
            TxidAlreadyUsedError: the txid pays another payment.
            InvalidTransitionError: the payment is not waiting for its transaction (not approved,
                or expired).
            PaymentNotFoundError: no such payment.
        """
        txid = normalise_txid(txid)
        try:
            return self._record_txid(payment_id, txid)
        except InvalidTransitionError:
            current = self.get(payment_id)
            if current.status == S.INCOMPLETE:
                if not approved_on_pi(self.platform, current, self.app_address):
                    raise
                catch_up_approval(self.sessions, self.payments, payment_id)
            elif current.status != S.PENDING_USER_TRANSFER_START:
                raise
        # (or the approval step's move landed in between: the txid can be recorded now)
        return self._record_txid(payment_id, txid)

    def _record_txid(self, payment_id: uuid.UUID, txid: str) -> Payment:
        """The txid's record and move, or the payment if a concurrent delivery recorded it."""
        try:
            with self.sessions() as session, session.begin():
                payment = self.payments.get(session, payment_id)
                if payment.txid is not None and payment.txid != txid:
                    raise TxidMismatchError(payment_id, payment.txid, txid)
                return self.payments.record_txid(session, payment_id, txid)
        except InvalidTransitionError:
            current = self.get(payment_id)
            if current.txid == txid:  # a concurrent delivery of the same callback recorded it
                return current
            if current.txid is not None:
                raise TxidMismatchError(payment_id, current.txid, txid) from None
            raise

    def verify_and_complete(self, payment_id: uuid.UUID, snapshot: PaymentSnapshot | None = None) -> Payment:
        """Verifies the recorded transaction on Horizon, completes on Pi, credits the ledger
        (``-> pending_stellar``); or refuses the payment with its reason (``-> error``).

        Idempotent: a payment already verified, refused or refunded is returned unchanged.

        Args:
            payment_id: The payment.
            snapshot: The payment as the caller just read it (:meth:`snapshot`); read here if None.

        Raises:
            InvalidTransitionError: no transaction is recorded yet (``submit_txid`` first).
            PaymentNotFoundError: no such payment.
            PiHorizonUnavailableError, PiPlatformUnavailableError: retry later; nothing changed.
        """
        if snapshot is None or snapshot.payment.id != payment_id:
            snapshot = self._require_snapshot(payment_id)
        payment, quote = snapshot.payment, snapshot.quote
        if payment.status != S.PENDING_ANCHOR:
            if payment.status in (S.INCOMPLETE, S.PENDING_USER_TRANSFER_START):
                raise InvalidTransitionError(
                    "payment", payment_id, S.PENDING_ANCHOR, S.PENDING_STELLAR, payment.status
                )
            return payment
        assert payment.txid is not None  # recorded by the move into pending_anchor
        txid = payment.txid
        if snapshot.has_refund:
            return payment  # Pi is being returned; this payment is never credited
        pi = self.platform.get_payment(payment.pi_payment_id)
        unbound = self._unbound(payment, pi)
        if unbound is not None:  # not this merchant's payment: refused here, left alone on Pi
            return self._move(payment_id, S.PENDING_ANCHOR, S.ERROR, unbound, error_reason=unbound)
        reason = self._refusal(payment, quote, pi, txid)
        if reason is not None:
            return self._refuse(payment_id, pi, reason)
        if not pi.status.developer_completed:
            try:
                self.platform.complete_payment_reconciled(pi.identifier, txid)
            except PiVerificationFailedError as exc:
                return self._refuse(payment_id, pi, f"Pi refused completion: {exc.verification_error or exc}")
            except (PiTxidMismatchError, PiAlreadyCancelledError) as exc:
                return self._refuse(payment_id, pi, f"Pi refused completion: {exc}")
        return self._credit(payment_id, quote, txid, pi.user_uid)

    def expire(self, payment_id: uuid.UUID, reason: str) -> Payment:
        """Cancels on Pi a payment the customer never paid and moves it to ``expired``.

        Nothing happens if Pi already links a transaction to it: that one is recovered, not
        cancelled. Used by the reconciler after the payment's deadline.

        Raises:
            PiPlatformError: Pi refused the cancellation (e.g. a transaction just arrived).
        """
        payment, _quote = self.load_with_quote(payment_id)
        if payment.status not in (S.INCOMPLETE, S.PENDING_USER_TRANSFER_START):
            return payment
        pi = self.platform.get_payment(payment.pi_payment_id)
        if pi.transaction is not None or pi.status.developer_completed:
            return payment
        if not (pi.status.cancelled or pi.status.user_cancelled):
            with contextlib.suppress(PiAlreadyCancelledError):
                self.platform.cancel_payment(pi.identifier)
        return self._move(payment_id, S(payment.status), S.EXPIRED, reason, error_reason=reason)

    # ---------------------------------------------------------------------------------- helpers

    def get(self, payment_id: uuid.UUID) -> Payment:
        """The payment as committed now."""
        with self.sessions() as session:
            return self.payments.get(session, payment_id)

    def deadline(self, quote: Quote) -> datetime:
        """The last moment a customer's Pi transaction for ``quote`` is accepted."""
        return quote.expires_at + timedelta(seconds=self.settings.payment_grace_seconds)

    def load_with_quote(self, payment_id: uuid.UUID) -> tuple[Payment, Quote]:
        """The payment and its quote, as committed now.

        Raises:
            PaymentNotFoundError: no such payment.
        """
        snapshot = self._require_snapshot(payment_id)
        return snapshot.payment, snapshot.quote

    def snapshot(self, payment_id: uuid.UUID) -> PaymentSnapshot | None:
        """The payment, its quote and whether a refund exists, as committed now (one statement);
        None if there is no such payment."""
        refunded = exists().where(PiRefund.payment_id == Payment.id)
        statement = (
            select(Payment, Quote, refunded)
            .join(Quote, Quote.id == Payment.quote_id)
            .where(Payment.id == payment_id)
        )
        with self.sessions() as session:
            row = session.execute(statement).one_or_none()
        if row is None:
            return None
        payment, quote, has_refund = row
        return PaymentSnapshot(payment, quote, bool(has_refund))

    def _require_snapshot(self, payment_id: uuid.UUID) -> PaymentSnapshot:
        snapshot = self.snapshot(payment_id)
        if snapshot is None:
            raise PaymentNotFoundError(payment_id)
        return snapshot

    def _loaded(self, payment_id: uuid.UUID, snapshot: PaymentSnapshot | None) -> tuple[Payment, Quote]:
        """The caller's snapshot of ``payment_id`` if it has one, else the payment read now."""
        if snapshot is not None and snapshot.payment.id == payment_id:
            return snapshot.payment, snapshot.quote
        return self.load_with_quote(payment_id)

    @staticmethod
    def _unbound(payment: Payment, pi: PiPayment) -> str | None:
        """Why Pi's metadata does not bind ``pi`` to the payment's merchant and quote, or None."""
        if pi.identifier != payment.pi_payment_id:
            return None  # another payment altogether: refused (and reported) by the full check
        return metadata_refusal(pi, binding_of(payment))

    def _refusal(self, payment: Payment, quote: Quote, pi: PiPayment, txid: str) -> str | None:
        """Why the payment's transaction must be refused, or None (reads Pi and Horizon only)."""
        mismatch = binding_refusal(
            pi, binding_of(payment), pi_payment_id=payment.pi_payment_id, app_address=self.app_address
        )
        if mismatch is not None:
            return mismatch
        if pi.status.cancelled or pi.status.user_cancelled:
            return f"Pi payment {pi.identifier} was cancelled on the Pi platform"
        if not pi.status.developer_approved:
            # Only an approved payment can be paid through a Pi wallet; a txid can reach us from
            # ``incomplete`` (see PaymentService.record_txid), so this is checked, not assumed.
            return f"Pi payment {pi.identifier} was never approved by the app on the Pi platform"
        if pi.transaction is not None and pi.transaction.txid.lower() != txid:
            return f"the Pi platform links transaction {pi.transaction.txid} to this payment, not {txid}"
        try:
            tx = self.horizon.get_transaction(txid)
        except PiLedgerNotFoundError:
            return f"Pi transaction {txid} is not on the ledger"
        expected = checks.ExpectedTransfer(
            memo=payment.pi_payment_id,
            from_address=pi.from_address,
            to_address=self.app_address,
            amount=payment.pi_amount,
            deadline=self.deadline(quote),
        )
        operations = self.horizon.transaction_operations(txid) if tx.successful else []
        return checks.transaction_mismatch(tx, operations, expected)

    def _refuse(self, payment_id: uuid.UUID, pi: PiPayment, reason: str) -> Payment:
        if self._cancel_on_pi(pi):
            reason += "; cancelled on the Pi platform"
        return self._move(payment_id, S.PENDING_ANCHOR, S.ERROR, reason, error_reason=reason)

    def _credit(self, payment_id: uuid.UUID, quote: Quote, txid: str, payer_uid: str) -> Payment:
        """The move to ``pending_stellar``, the payer Pi names and the ledger postings, in one
        transaction."""
        try:
            with self.sessions() as session, session.begin():
                payment = self.payments.transition(
                    session,
                    payment_id,
                    S.PENDING_ANCHOR,
                    S.PENDING_STELLAR,
                    f"Pi transaction {txid} verified on Horizon and completed on the Pi platform",
                )
                payment.payer_uid = payer_uid
                flows.record_pi_received(session, payment)
                flows.record_conversion(session, payment, quote)
                return payment
        except InvalidTransitionError:
            return self._settled_elsewhere(payment_id, S.PENDING_ANCHOR, S.PENDING_STELLAR)

    def _cancel_on_pi(self, pi: PiPayment) -> bool:
        """Cancels ``pi`` so it stops blocking the customer's next payment; True if it is cancelled.

        Pi refuses to cancel a payment with a transaction; then the payment is only flagged here.
        """
        if pi.status.cancelled or pi.status.user_cancelled:
            return True
        if pi.status.developer_completed or pi.transaction is not None:
            return False
        try:
            self.platform.cancel_payment(pi.identifier)
        except PiAlreadyCancelledError:
            return True
        except PiPlatformError:
            return False
        return True

    def _move(
        self, payment_id: uuid.UUID, from_status: S, to_status: S, reason: str, **values: str
    ) -> Payment:
        """One status move in its own transaction; a move someone else already made returns the payment."""
        try:
            with self.sessions() as session, session.begin():
                return self.payments.transition(session, payment_id, from_status, to_status, reason, **values)
        except InvalidTransitionError:
            return self._settled_elsewhere(payment_id, from_status, to_status)

    def _settled_elsewhere(self, payment_id: uuid.UUID, from_status: S, to_status: S) -> Payment:
        """After a lost race: the payment if the winner made (at least) our move, else the error again."""
        current = self.get(payment_id)
        status = S(current.status)
        if status == to_status or (
            status in _PROGRESS
            and to_status in _PROGRESS
            and _PROGRESS.index(status) >= _PROGRESS.index(to_status)
        ):
            return current
        raise InvalidTransitionError("payment", payment_id, from_status, to_status, current.status)
