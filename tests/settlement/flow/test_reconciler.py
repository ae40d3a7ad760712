"""The reconciler against the local Pi peer, on SQLite and PostgreSQL: lost callbacks recovered from
Horizon, abandoned payments cancelled after their deadline, the stream cursor resumed after a
restart without missing or double-handling a payment."""

from __future__ import annotations

from settlement.flow import cursor as stream_cursor
from settlement.payments.models import PaymentStatus as S
from tests.settlement.flow.support import Env, credits_of, make_env, moves_of, new_order, owed_to_merchant


def _credited_once(env: Env, payment_id, merchant_id: str, buy_amount: int) -> None:  # type: ignore[no-untyped-def]
    with env.db.sessions() as session:
        assert len(credits_of(session, payment_id)) == 3
        assert owed_to_merchant(session, merchant_id) == buy_amount
        assert moves_of(session, payment_id)[-1] == ("pending_anchor", "pending_stellar")


def test_lost_txid_callback_is_recovered_from_the_payment_stream(env: Env) -> None:
    order = new_order(env)
    env.flow.approve(order.payment.id)
    env.control.wallet_pay(order.pi_id)  # ... and the app never calls back with the txid

    report = env.reconciler.run_once()

    assert order.payment.id in report.recovered and order.payment.id in report.finished
    assert env.flow.get(order.payment.id).status == S.PENDING_STELLAR
    assert env.platform.get_payment(order.pi_id).status.developer_completed
    _credited_once(env, order.payment.id, order.payment.merchant_id, order.quote.buy_amount)


def test_lost_txid_callback_is_recovered_from_horizon_by_memo_when_the_stream_passed_it(env: Env) -> None:
    env.reconciler.run_once()  # the stream is caught up
    order = new_order(env)
    env.flow.approve(order.payment.id)
    txid = env.control.wallet_pay(order.pi_id)
    # A follower that read the operation but crashed before handling it and then lost its place.
    page = env.horizon.payments_page(env.peer.app.public_key, limit=1, descending=True)
    with env.db.sessions() as session, session.begin():
        stream_cursor.save(session, env.peer.app.public_key, page.records[0].paging_token, env.clock())
    assert env.reconciler.run_once().stream_seen == 0
    assert env.flow.get(order.payment.id).status == S.PENDING_USER_TRANSFER_START

    env.clock.advance(31)  # now it counts as stuck
    report = env.reconciler.run_once()

    assert order.payment.id in report.recovered and order.payment.id in report.finished
    done = env.flow.get(order.payment.id)
    assert done.status == S.PENDING_STELLAR and done.txid == txid
    _credited_once(env, order.payment.id, order.payment.merchant_id, order.quote.buy_amount)


def test_approval_whose_answer_was_lost_is_finished(env: Env) -> None:
    order = new_order(env)
    env.platform.approve_payment(order.pi_id)  # approved on Pi; our move never committed
    env.control.wallet_pay(order.pi_id)

    report = env.reconciler.run_once()

    assert order.payment.id in report.finished
    _credited_once(env, order.payment.id, order.payment.merchant_id, order.quote.buy_amount)


def test_payment_never_paid_is_cancelled_after_its_deadline(env: Env) -> None:
    order = new_order(env)
    env.flow.approve(order.payment.id)

    env.clock.advance(60)  # stuck, but the quote (300 s) and its grace (60 s) still hold
    assert order.payment.id not in env.reconciler.run_once().expired
    assert env.flow.get(order.payment.id).status == S.PENDING_USER_TRANSFER_START

    env.clock.advance(301)
    report = env.reconciler.run_once()

    assert order.payment.id in report.expired
    expired = env.flow.get(order.payment.id)
    assert expired.status == S.EXPIRED and "deadline" in (expired.error_reason or "")
    assert env.platform.get_payment(order.pi_id).status.cancelled
    # The Pioneer is no longer blocked: a new payment can be created for them.
    assert env.control.create_u2a_payment(order.user.uid, 1, "again", {})
    with env.db.sessions() as session:
        assert credits_of(session, order.payment.id) == []


def test_stream_cursor_resumes_after_a_restart_without_missing_or_repeating(env: Env) -> None:
    env.reconciler.run_once()
    first, second = new_order(env), new_order(env)
    for order in (first, second):
        env.flow.approve(order.payment.id)
        env.control.wallet_pay(order.pi_id)

    before = env.reconciler.run_once()
    assert (before.stream_seen, before.stream_matched) == (2, 2)
    assert {first.payment.id, second.payment.id} <= set(before.finished)

    # The worker stops; a payment arrives meanwhile; a new process starts from the stored cursor.
    third = new_order(env)
    env.flow.approve(third.payment.id)
    env.control.wallet_pay(third.pi_id)
    restarted = make_env(env.db, env.peer)
    after = restarted.reconciler.run_once()

    assert (after.stream_seen, after.stream_matched) == (1, 1)
    assert after.recovered == [third.payment.id] and after.finished == [third.payment.id]
    for order in (first, second, third):
        _credited_once(env, order.payment.id, order.payment.merchant_id, order.quote.buy_amount)
    last = env.horizon.payments_page(env.peer.app.public_key, limit=1, descending=True).records[0]
    with env.db.sessions() as session:
        assert stream_cursor.load(session, env.peer.app.public_key) == last.paging_token
    assert restarted.reconciler.run_once().stream_seen == 0
    restarted.close()
