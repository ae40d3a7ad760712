"""Payouts: idempotent requests, their status machine with history, and races."""

from __future__ import annotations

import threading

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from common.errors import ValidationError
from settlement.payouts.errors import InvalidTransitionError, PayoutIdempotencyConflictError
from settlement.payouts.models import PayoutStatus as S
from settlement.payouts.schemas import PayoutRead
from settlement.payouts.service import PAYOUT_MACHINE, PayoutService
from tests.settlement.ledger.support import Clock, unique


def request(session, payouts, key=None, **overrides):
    values = {"merchant_id": "m-1", "amount": 1_000_000, "fee": 2_500, "bank_account": "BCA 0123"} | overrides
    return payouts.request(session, idempotency_key=key or unique("po"), **values)


def test_request_is_idempotent_per_key(db, clock):
    payouts = PayoutService(clock)
    key = unique("po")
    with db.sessions() as session, session.begin():
        first = request(session, payouts, key)
    with db.sessions() as session, session.begin():
        assert request(session, payouts, key).id == first.id
        with pytest.raises(PayoutIdempotencyConflictError, match=key) as caught:
            request(session, payouts, key, amount=999_999)
        assert caught.value.status_code == 409
    assert first.status == S.REQUESTED and first.net_amount == 997_500


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"amount": 0}, "amount must be positive"),
        ({"fee": 1_000_000}, "fee between 0 and the amount"),
        ({"fee": -1}, "fee between"),
        ({"amount": 1.5}, "integer of sen"),
        ({"bank_account": ""}, "needs an idempotency key, a merchant id and a bank account"),
    ],
)
def test_request_is_validated(db, clock, overrides, message):
    with db.sessions() as session, pytest.raises(ValidationError, match=message):
        request(session, PayoutService(clock), **overrides)


def test_paid_and_failed_reversed_paths_record_history(db, clock):
    payouts = PayoutService(clock)
    with db.sessions() as session, session.begin():
        paid, failed = request(session, payouts), request(session, payouts)
        for p in (paid, failed):
            payouts.transition(session, p.id, S.REQUESTED, S.PROCESSING, "sent", bank_reference=f"ref-{p.id}")
        payouts.transition(session, paid.id, S.PROCESSING, S.PAID, "bank confirmed")
        payouts.transition(
            session, failed.id, S.PROCESSING, S.FAILED, "rejected", failure_reason="closed account"
        )
        done = payouts.transition(session, failed.id, S.FAILED, S.REVERSED, "MSC re-issued")
        assert done.failure_reason == "closed account" and done.bank_reference == f"ref-{failed.id}"
        assert [h.to_status for h in payouts.history(session, paid.id)] == [S.PROCESSING, S.PAID]
        assert [h.to_status for h in payouts.history(session, failed.id)] == [
            S.PROCESSING,
            S.FAILED,
            S.REVERSED,
        ]
        assert PayoutRead.model_validate(done).status == S.REVERSED
        with pytest.raises(InvalidTransitionError, match="paid -> failed is not a legal transition"):
            payouts.transition(session, paid.id, S.PAID, S.FAILED, "too late")
        with pytest.raises(InvalidTransitionError, match="its status is paid, not processing"):
            payouts.transition(session, paid.id, S.PROCESSING, S.FAILED, "stale")


@settings(max_examples=25, deadline=None)
@given(
    attempts=st.lists(st.tuples(st.sampled_from(list(S)), st.sampled_from(list(S))), min_size=1, max_size=10)
)
def test_random_move_attempts_follow_the_machine(db, attempts):
    payouts = PayoutService(Clock())
    with db.sessions() as session, session.begin():
        payout = request(session, payouts)
        status, successes = S.REQUESTED, 0
        for from_status, to_status in attempts:
            legal = from_status == status and to_status in PAYOUT_MACHINE.moves[from_status]
            try:
                payouts.transition(session, payout.id, from_status, to_status, "prop")
            except InvalidTransitionError:
                assert not legal
            else:
                assert legal
                status, successes = to_status, successes + 1
        assert payouts.get(session, payout.id).status == status
        assert len(payouts.history(session, payout.id)) == successes


def test_two_workers_racing_to_mark_paid_exactly_one_wins(pg_db):
    payouts = PayoutService(Clock())
    with pg_db.sessions() as session, session.begin():
        payout = request(session, payouts)
        payouts.transition(session, payout.id, S.REQUESTED, S.PROCESSING, "sent")
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def worker(to_status: S) -> None:
        try:
            with pg_db.sessions() as session, session.begin():
                barrier.wait()
                payouts.transition(session, payout.id, S.PROCESSING, to_status, "bank said so")
                outcomes.append(f"won:{to_status}")
        except InvalidTransitionError:
            outcomes.append("lost")

    threads = [threading.Thread(target=worker, args=(s,)) for s in (S.PAID, S.FAILED)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(o.split(":")[0] for o in outcomes) == ["lost", "won"]
    with pg_db.sessions() as session:
        assert len(payouts.history(session, payout.id)) == 2
