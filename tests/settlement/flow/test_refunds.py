"""Pi refunds (app-to-user) against the local Pi peer, on SQLite and PostgreSQL: built, signed,
txid recorded before submission, the same envelope resubmitted through 5xx answers without a
second payment, completed; one payout in flight per app wallet."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest
from stellar_sdk import TransactionEnvelope

from settlement.flow.errors import NothingToRefundError, WalletBusyError
from settlement.flow.models import PiRefund, RefundStatus
from settlement.payments.models import PaymentStatus as S
from settlement.pi.horizon import PI_TESTNET_PASSPHRASE, PiHorizon, PiLedgerNotFoundError, PiTransaction
from tests.settlement.flow.support import PI, Env, Order, credits_of, make_env, new_order
from tests.settlement.ledger.support import Db


class RecordingHorizon(PiHorizon):
    """The real Horizon client, noting what SQL says about the refund at each submission."""

    db: Db | None = None
    seen: list[tuple[str, str | None, str | None]]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.seen = []

    def submit(self, envelope: TransactionEnvelope) -> PiTransaction:
        assert self.db is not None
        with self.db.sessions() as session:
            row = session.query(PiRefund).filter(PiRefund.txid == envelope.hash_hex()).one_or_none()
            self.seen.append(
                (envelope.hash_hex(), row.status if row else None, row.envelope_xdr if row else None)
            )
        return super().submit(envelope)


def refused_order(env: Env, paid: int) -> Order:
    """A payment whose customer sent ``paid`` instead of the quoted 10 Pi: refused, Pi received."""
    order = new_order(env)
    env.flow.approve(order.payment.id)
    txid = env.control.wallet_pay(order.pi_id, amount_stroops=paid)
    env.flow.submit_txid(order.payment.id, txid)
    assert env.flow.verify_and_complete(order.payment.id).status == S.ERROR
    return order


def test_refund_is_recorded_before_submit_resubmitted_through_504s_and_completed(
    flow_db: Db, env: Env
) -> None:
    recording = make_env(flow_db, env.peer, horizon_factory=RecordingHorizon)
    horizon = recording.horizon
    assert isinstance(horizon, RecordingHorizon)
    horizon.db = flow_db
    order = refused_order(recording, paid=7 * PI)
    user_before = recording.horizon.balance(order.user.public_key)

    refund = recording.refunds.request(order.payment.id, "paid the wrong amount")
    assert refund.amount == 7 * PI and refund.status == RefundStatus.REQUESTED
    assert recording.refunds.request(order.payment.id, "again").id == refund.id  # one per payment
    fired_before = recording.control.fired_faults().get("horizon_submit", 0)
    # The first submission IS applied but answered 504; so is the resubmission of the same envelope.
    recording.control.arm_fault("horizon_submit", count=2, status=504, apply_first=True)

    done = recording.refunds.process(refund.id)

    assert done.status == RefundStatus.COMPLETED and done.wallet_slot is None
    assert recording.control.fired_faults()["horizon_submit"] - fired_before == 2
    # The envelope was committed as "submitted" before it went out; the two resubmissions after the
    # 504s (inside PiHorizon.submit) sent that same envelope: the ledger answered its included result.
    assert horizon.seen == [(done.txid, "submitted", done.envelope_xdr)]
    # Exactly one payment reached the Pioneer.
    assert recording.horizon.balance(order.user.public_key) == user_before + 7 * PI
    sent = [
        op
        for op in recording.horizon.iter_payments(order.user.public_key)
        if op.from_address == recording.peer.app.public_key
    ]
    assert [(op.transaction_hash, op.amount) for op in sent] == [(done.txid, 7 * PI)]
    tx = recording.horizon.get_transaction(done.txid or "")
    assert tx.memo == done.pi_payment_id
    pi = recording.platform.get_payment(done.pi_payment_id or "")
    assert pi.direction == "app_to_user" and pi.status.developer_completed
    assert pi.transaction is not None and pi.transaction.txid == done.txid
    assert recording.flow.get(order.payment.id).status == S.REFUNDED
    with flow_db.sessions() as session:
        assert credits_of(session, order.payment.id) == []
    # Processing again is a no-op.
    assert recording.refunds.process(refund.id).status == RefundStatus.COMPLETED
    assert len(horizon.seen) == 1
    recording.close()


def test_one_payout_in_flight_per_wallet(env: Env) -> None:
    first, second = refused_order(env, 3 * PI), refused_order(env, 4 * PI)
    a = env.refunds.request(first.payment.id, "wrong amount")
    b = env.refunds.request(second.payment.id, "wrong amount")
    env.refunds.process(a.id, max_steps=2)  # created on Pi, signed and recorded: holds the wallet
    assert env.refunds.get(a.id).status == RefundStatus.SUBMITTED

    with pytest.raises(WalletBusyError):
        env.refunds.process(b.id)
    assert env.refunds.get(b.id).status == RefundStatus.CREATED

    resumed = env.refunds.resume_all()  # the slot holder first, then the waiting one

    assert resumed[:1] == [a.id]
    assert env.refunds.get(a.id).status == RefundStatus.COMPLETED
    assert env.refunds.get(b.id).status == RefundStatus.COMPLETED
    assert env.flow.get(second.payment.id).status == S.REFUNDED


def test_only_a_refused_payment_that_brought_pi_is_refunded(env: Env) -> None:
    order = new_order(env)
    env.flow.approve(order.payment.id)
    with pytest.raises(NothingToRefundError, match="only refused payments"):
        env.refunds.request(order.payment.id, "changed my mind")
    txid = env.control.wallet_pay(order.pi_id)
    env.flow.submit_txid(order.payment.id, txid)
    env.flow.verify_and_complete(order.payment.id)
    with pytest.raises(NothingToRefundError, match="status is pending_stellar"):
        env.refunds.request(order.payment.id, "credited already")


def test_refund_survives_a_lost_answer_or_a_crash_at_each_step(flow_db: Db, env: Env) -> None:
    order = refused_order(env, 6 * PI)
    refund = env.refunds.request(order.payment.id, "wrong amount")
    user_before = env.horizon.balance(order.user.public_key)
    # 1. Pi created the app-to-user payment, but its answer was lost: the retry adopts it.
    lost = env.platform.create_payment(
        amount=refund.amount,
        memo="Refund",
        metadata={"refund_id": str(refund.id), "payment_id": str(order.payment.id)},
        uid=refund.user_uid,
    )
    env.refunds.process(refund.id, max_steps=2)
    signed = env.refunds.get(refund.id)
    assert (signed.status, signed.pi_payment_id) == (RefundStatus.SUBMITTED, lost.identifier)
    # 2. The txid is recorded and nothing is on the ledger yet (a crash here loses nothing).
    assert signed.txid is not None and signed.envelope_xdr is not None
    with pytest.raises(PiLedgerNotFoundError):
        env.horizon.get_transaction(signed.txid)
    # 3. The envelope lands, and the process dies before completing: a new process resumes it.
    env.horizon.submit(TransactionEnvelope.from_xdr(signed.envelope_xdr, PI_TESTNET_PASSPHRASE))
    restarted = make_env(flow_db, env.peer)

    assert refund.id in restarted.refunds.resume_all()

    done = env.refunds.get(refund.id)
    assert done.status == RefundStatus.COMPLETED and done.txid == signed.txid
    assert env.horizon.balance(order.user.public_key) == user_before + 6 * PI
    assert env.platform.get_payment(lost.identifier).status.developer_completed
    assert env.flow.get(order.payment.id).status == S.REFUNDED
    restarted.close()


def test_refund_is_resubmitted_while_the_ledger_says_tx_too_early(env: Env) -> None:
    order = refused_order(env, 2 * PI)
    refund = env.refunds.request(order.payment.id, "wrong amount")
    env.control.set_clock_offset(-2)  # the ledger's clock lags ours: min_time is in its future
    try:
        done = env.refunds.process(refund.id)
    finally:
        env.control.set_clock_offset(0)

    assert done.status == RefundStatus.COMPLETED
    tx = env.horizon.get_transaction(done.txid or "")
    assert tx.memo == done.pi_payment_id
    # Included only once the ledger's clock reached min_time: the earlier submissions were too early.
    envelope = TransactionEnvelope.from_xdr(done.envelope_xdr or "", PI_TESTNET_PASSPHRASE)
    bounds = envelope.transaction.preconditions.time_bounds  # type: ignore[union-attr]
    assert datetime.fromisoformat(tx.created_at).timestamp() >= bounds.min_time
    assert env.flow.get(order.payment.id).status == S.REFUNDED
