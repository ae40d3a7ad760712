"""Finishing or cancelling Pi payments stuck between approval and completion.

Why: the Pi app calls our callbacks from the customer's phone, and any of them can be lost (the
app closed, the network dropped, a worker was down). A payment Pi approved but we never
completed blocks that customer's next payment (pi-platform-docs ``payments.md``, "incomplete
payment"). One :meth:`PiReconciler.run_once` therefore:

1. follows Horizon's payment stream of the platform account from a cursor stored in SQL: every
   incoming native payment whose memo names one of our payments is recorded and verified as if
   its callback had arrived. The cursor is saved after each operation is handled, so a restart
   neither misses a payment nor handles one twice (and handling is idempotent anyway);
2. sweeps payments untouched for ``stuck_after_seconds``: ``incomplete`` and
   ``pending_user_transfer_start`` ones get their txid recovered from the Pi platform or from
   Horizon by memo and are finished, or are cancelled once their deadline passed (or Pi
   cancelled them); ``pending_anchor`` ones are verified again;
3. resumes app-to-user refunds left in flight, including ones Pi lists as incomplete server
   payments (``GET /payments/incomplete_server_payments``).

One reconciler runs at a time (it is a periodic task); concurrent callbacks are safe with it.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from common.errors import MSCError
from settlement.flow import cursor as stream_cursor
from settlement.flow.pi_flow import PiPaymentFlow
from settlement.flow.refunds import PiRefundService
from settlement.payments import repository as payments_repository
from settlement.payments.models import Payment
from settlement.payments.models import PaymentStatus as S
from settlement.pi.horizon import PiHorizonUnavailableError, PiOperation
from settlement.pi.platform_client import PiPlatformUnavailableError

# Failures that mean "ask again later", as opposed to a verdict about one payment.
_TRANSIENT = (PiHorizonUnavailableError, PiPlatformUnavailableError)


@dataclass
class ReconcileReport:
    """What one reconciler run did.

    Attributes:
        stream_seen: Payment-stream operations read (and the cursor moved past).
        stream_matched: Incoming payments whose memo named one of our payments.
        recovered: Payments whose missing txid was recovered (stream, Pi or Horizon by memo).
        finished: Payments this run moved to ``pending_stellar``.
        refused: Payments this run moved to ``error``.
        expired: Payments this run cancelled (customer never paid before the deadline).
        refunds_resumed: Refunds stepped forward.
        unmatched: Incoming transactions for no payment waiting for one (to investigate or refund).
        problems: Errors met, one line each; the run carries on with the next item.
    """

    stream_seen: int = 0
    stream_matched: int = 0
    recovered: list[uuid.UUID] = field(default_factory=list)
    finished: list[uuid.UUID] = field(default_factory=list)
    refused: list[uuid.UUID] = field(default_factory=list)
    expired: list[uuid.UUID] = field(default_factory=list)
    refunds_resumed: list[uuid.UUID] = field(default_factory=list)
    unmatched: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


class PiReconciler:
    """Recovers lost callbacks and cancels abandoned payments.

    Args:
        sessions: Session factory of the settlement database.
        flow: The payment flow whose steps the reconciler replays.
        refunds: Refund service whose in-flight refunds are resumed (optional).
    """

    def __init__(
        self, sessions: sessionmaker[Session], flow: PiPaymentFlow, refunds: PiRefundService | None = None
    ) -> None:
        self.sessions = sessions
        self.flow = flow
        self.refunds = refunds

    def run_once(self) -> ReconcileReport:
        """One pass: stream, sweep, refunds. Never raises for one bad item; see ``problems``."""
        report = ReconcileReport()
        try:
            self._follow_stream(report)
        except _TRANSIENT as exc:
            report.problems.append(f"stream: {exc}")
        self._sweep(report)
        if self.refunds is not None:
            try:
                report.refunds_resumed.extend(self.refunds.resume_all())
            except MSCError as exc:
                report.problems.append(f"refunds: {exc}")
        return report

    # ------------------------------------------------------------------------------ the stream

    def _follow_stream(self, report: ReconcileReport) -> None:
        account = self.flow.app_address
        limit = self.flow.settings.stream_page_size
        with self.sessions() as session:
            position = stream_cursor.load(session, account)
        while True:
            page = self.flow.horizon.payments_page(account, cursor=position, limit=limit)
            saved = position
            try:
                for operation in page.records:
                    try:
                        self._handle_operation(operation, report)
                    except _TRANSIENT:
                        raise  # before the cursor moves past it: this operation is read again next run
                    except MSCError as exc:  # a verdict on this one operation: note it and move on
                        report.problems.append(f"stream operation {operation.id}: {exc}")
                    position = operation.paging_token
                    report.stream_seen += 1
            finally:
                # Once per page (and where a transient error stopped it): handling an operation is
                # idempotent, so a crash before this only means reading those operations again.
                if position is not None and position != saved:
                    with self.sessions() as session, session.begin():
                        stream_cursor.save(session, account, position, self.flow.payments.clock())
            if len(page.records) < limit:
                return

    def _handle_operation(self, operation: PiOperation, report: ReconcileReport) -> None:
        if not (
            operation.type == "payment"
            and operation.is_native_move
            and operation.successful
            and operation.to_address == self.flow.app_address
        ):
            return  # outgoing payouts, account creation, other assets: not a customer's payment
        with self.sessions() as session:
            known = payments_repository.by_txid(session, operation.transaction_hash.lower())
        if known is not None:
            # Its callback arrived: the verify step owns it from here (the workers' sweep and this
            # reconciler's own sweep re-run it if it stalls), so the stream need not fetch it again.
            report.stream_matched += 1
            return
        tx = self.flow.horizon.get_transaction(operation.transaction_hash)
        payment = self._payment_by_memo(tx.memo if tx.memo_type == "text" else None)
        if payment is None:
            report.unmatched.append(tx.hash)
            return
        report.stream_matched += 1
        waiting = payment.txid is None and payment.status in (S.INCOMPLETE, S.PENDING_USER_TRANSFER_START)
        if payment.txid == tx.hash or waiting:
            self._finish(payment, tx.hash, report)
        else:
            # A second transaction for one payment, or one after it expired: Pi to return by hand.
            report.unmatched.append(tx.hash)

    def _payment_by_memo(self, memo: str | None) -> Payment | None:
        if not memo:
            return None
        with self.sessions() as session:
            return payments_repository.by_pi_payment_id(session, memo)

    # ------------------------------------------------------------------------------- the sweep

    def _sweep(self, report: ReconcileReport) -> None:
        now = self.flow.payments.clock()
        settings = self.flow.settings
        stuck_before = now - timedelta(seconds=settings.stuck_after_seconds)
        waiting = (S.INCOMPLETE, S.PENDING_USER_TRANSFER_START, S.PENDING_ANCHOR)
        with self.sessions() as session:
            stuck = list(
                session.scalars(
                    select(Payment)
                    .where(Payment.status.in_([str(s) for s in waiting]), Payment.updated_at <= stuck_before)
                    .order_by(Payment.updated_at)
                    .limit(settings.sweep_batch)
                )
            )
        for payment in stuck:
            try:
                self._sweep_one(payment, report)
            except MSCError as exc:
                report.problems.append(f"payment {payment.id}: {exc}")

    def _sweep_one(self, payment: Payment, report: ReconcileReport) -> None:
        if payment.status == S.PENDING_ANCHOR:
            assert payment.txid is not None
            self._finish(payment, payment.txid, report)
            return
        pi = self.flow.platform.get_payment(payment.pi_payment_id)
        if payment.status == S.INCOMPLETE and pi.status.developer_approved:
            payment = self.flow.approve(payment.id)  # approved on Pi, but our move was lost
        if payment.status == S.PENDING_USER_TRANSFER_START:
            # The txid callback was lost: Horizon by memo first (the chain is the truth), then Pi's link.
            found = self.flow.horizon.find_transaction_by_memo(self.flow.app_address, payment.pi_payment_id)
            txid = found.hash if found is not None else None
            if txid is None and pi.transaction is not None:
                txid = pi.transaction.txid
            if txid is not None:
                self._finish(payment, txid, report)
                return
        if payment.status not in (S.INCOMPLETE, S.PENDING_USER_TRANSFER_START):
            return
        _payment, quote = self.flow.load_with_quote(payment.id)
        deadline = self.flow.deadline(quote)
        if pi.status.cancelled or pi.status.user_cancelled:
            reason = "cancelled on the Pi platform; no Pi transaction arrived"
        elif self.flow.payments.clock() > deadline:
            reason = f"no Pi transaction arrived before the deadline {deadline.isoformat()}; cancelled"
        else:
            return  # still within its time; look again next run
        moved = self.flow.expire(payment.id, reason)
        if moved.status == S.EXPIRED:
            report.expired.append(payment.id)

    # ---------------------------------------------------------------------------------- shared

    def _finish(self, payment: Payment, txid: str, report: ReconcileReport) -> None:
        """Records ``txid`` if the payment still waits for one, then verifies and completes it."""
        if payment.status == S.INCOMPLETE:
            payment = self.flow.approve(payment.id)  # Pi has a transaction, so it approved on our call
        if payment.status == S.PENDING_USER_TRANSFER_START:
            self.flow.submit_txid(payment.id, txid)
            report.recovered.append(payment.id)
        result = self.flow.verify_and_complete(payment.id)
        if payment.status != result.status:
            if result.status == S.PENDING_STELLAR:
                report.finished.append(payment.id)
            elif result.status == S.ERROR:
                report.refused.append(payment.id)
