"""A step hands the flow the snapshot it checked the status on; a stale one changes nothing twice."""

from __future__ import annotations

import uuid

from settlement.payments.models import PaymentStatus as S
from tests.settlement.flow.support import Env, credits_of, moves_of, new_order

HAPPY_MOVES = [
    ("incomplete", "pending_user_transfer_start"),
    ("pending_user_transfer_start", "pending_anchor"),
    ("pending_anchor", "pending_stellar"),
]


def test_snapshot_reads_payment_quote_and_refund_at_once(env: Env) -> None:
    order = new_order(env)
    snapshot = env.flow.snapshot(order.payment.id)
    assert snapshot is not None
    assert (snapshot.payment.id, snapshot.payment.status) == (order.payment.id, S.INCOMPLETE)
    assert snapshot.quote.id == order.quote.id and snapshot.has_refund is False
    assert env.flow.snapshot(uuid.uuid4()) is None


def test_stale_snapshots_neither_move_nor_credit_twice(env: Env) -> None:
    order = new_order(env)
    before_approval = env.flow.snapshot(order.payment.id)
    assert env.flow.approve(order.payment.id, before_approval).status == S.PENDING_USER_TRANSFER_START
    # The same (now stale) snapshot again: Pi already approved, the conditional move is lost.
    assert env.flow.approve(order.payment.id, before_approval).status == S.PENDING_USER_TRANSFER_START

    txid = env.control.wallet_pay(order.pi_id)
    env.flow.submit_txid(order.payment.id, txid)
    before_verify = env.flow.snapshot(order.payment.id)
    assert before_verify is not None and before_verify.payment.status == S.PENDING_ANCHOR
    assert env.flow.verify_and_complete(order.payment.id, before_verify).status == S.PENDING_STELLAR
    assert env.flow.verify_and_complete(order.payment.id, before_verify).status == S.PENDING_STELLAR

    with env.db.sessions() as session:
        assert sorted(e.kind for e in credits_of(session, order.payment.id)) == [
            "conversion",
            "conversion",
            "pi_received",
        ]
        assert moves_of(session, order.payment.id) == HAPPY_MOVES


def test_a_snapshot_of_another_payment_is_not_used(env: Env) -> None:
    first, second = new_order(env), new_order(env)
    other = env.flow.snapshot(second.payment.id)
    approved = env.flow.approve(first.payment.id, other)
    assert approved.id == first.payment.id and approved.status == S.PENDING_USER_TRANSFER_START
    assert env.flow.get(second.payment.id).status == S.INCOMPLETE
