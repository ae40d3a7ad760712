"""The user-to-app flow against the local Pi peer, on SQLite and PostgreSQL: the happy path credits
the merchant exactly the quote, and every bad transaction is refused with its reason and credits
nothing."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest

from settlement.flow.binding import payment_metadata
from settlement.flow.errors import InvalidTxidError, TxidMismatchError
from settlement.payments.errors import InvalidTransitionError, TxidAlreadyUsedError
from settlement.payments.models import PaymentStatus as S
from tests.settlement.flow.support import (
    PI,
    Env,
    Order,
    credits_of,
    moves_of,
    new_order,
    owed_to_merchant,
    pay_custom,
)

HAPPY_MOVES = [
    ("incomplete", "pending_user_transfer_start"),
    ("pending_user_transfer_start", "pending_anchor"),
    ("pending_anchor", "pending_stellar"),
]


def test_happy_path_completes_on_pi_and_credits_the_merchant_exactly_the_quote(env: Env) -> None:
    order = new_order(env)
    app_before = env.horizon.balance(env.peer.app.public_key)

    approved = env.flow.approve(order.payment.id)
    assert approved.status == S.PENDING_USER_TRANSFER_START and approved.payer_uid is None
    assert env.platform.get_payment(order.pi_id).status.developer_approved

    txid = env.control.wallet_pay(order.pi_id)
    assert env.flow.submit_txid(order.payment.id, txid.upper()).status == S.PENDING_ANCHOR
    done = env.flow.verify_and_complete(order.payment.id)

    assert done.status == S.PENDING_STELLAR and done.txid == txid and done.error_reason is None
    pi = env.platform.get_payment(order.pi_id)
    assert done.payer_uid == pi.user_uid and pi.user_uid  # the Pioneer who paid, stored with the credit
    assert pi.status.developer_completed and pi.transaction is not None and pi.transaction.txid == txid
    assert env.horizon.balance(env.peer.app.public_key) == app_before + order.quote.sell_amount
    with env.db.sessions() as session:
        entries = credits_of(session, order.payment.id)
        assert sorted(e.kind for e in entries) == ["conversion", "conversion", "pi_received"]
        for entry in entries:
            assert sum(p.amount for p in entry.postings) == 0  # every entry balances
        assert owed_to_merchant(session, order.payment.merchant_id) == order.quote.buy_amount
        assert (
            sum(
                -p.amount
                for e in entries
                for p in e.postings
                if p.amount < 0 and e.kind == "conversion" and e.currency == "PI"
            )
            == order.quote.sell_amount
        )
        assert moves_of(session, order.payment.id) == HAPPY_MOVES

    # Every step again is a no-op: same payment, no new move, no new entry.
    assert env.flow.approve(order.payment.id).status == S.PENDING_STELLAR
    assert env.flow.submit_txid(order.payment.id, txid).status == S.PENDING_STELLAR
    assert env.flow.verify_and_complete(order.payment.id).status == S.PENDING_STELLAR
    with env.db.sessions() as session:
        assert len(credits_of(session, order.payment.id)) == 3
        assert moves_of(session, order.payment.id) == HAPPY_MOVES


def _wrong_amount(env: Env, order: Order) -> str:
    return env.control.wallet_pay(order.pi_id, amount_stroops=order.quote.sell_amount - 1)


def _wrong_memo(env: Env, order: Order) -> str:
    return env.control.wallet_pay(order.pi_id, memo="not-the-payment-id")


def _wrong_destination(env: Env, order: Order) -> str:
    other = env.control.create_user(5 * PI)
    return pay_custom(
        env.peer, order.user.secret_seed, [(other.public_key, order.quote.sell_amount)], order.pi_id
    )


def _wrong_source(env: Env, order: Order) -> str:
    stranger = env.control.create_user(100 * PI)
    return pay_custom(
        env.peer, stranger.secret_seed, [(env.peer.app.public_key, order.quote.sell_amount)], order.pi_id
    )


def _two_payments(env: Env, order: Order) -> str:
    half = order.quote.sell_amount // 2
    app = env.peer.app.public_key
    rest = order.quote.sell_amount - half
    return pay_custom(env.peer, order.user.secret_seed, [(app, half), (app, rest)], order.pi_id)


def _failed_tx(env: Env, order: Order) -> str:
    # The Pioneer holds 2 Pi and tries to send 10: included as failed (op_underfunded), fee charged.
    return pay_custom(
        env.peer, order.user.secret_seed, [(env.peer.app.public_key, order.quote.sell_amount)], order.pi_id
    )


BAD_CASES: dict[str, tuple[Callable[[Env, Order], str], str]] = {
    "wrong_amount": (_wrong_amount, "is not the quoted 10.0000000 Pi"),
    "wrong_memo": (_wrong_memo, "is not the payment identifier"),
    "wrong_destination": (_wrong_destination, "not the platform's account"),
    "wrong_source": (_wrong_source, "not the payment's"),
    "two_payment_operations": (_two_payments, "has 2 operations"),
    "failed_tx": (_failed_tx, "failed on the ledger"),
}


@pytest.mark.parametrize("case", sorted(BAD_CASES))
def test_bad_transaction_is_refused_with_its_reason_and_credits_nothing(env: Env, case: str) -> None:
    make_tx, reason = BAD_CASES[case]
    order = new_order(env, balance=2 * PI if case == "failed_tx" else 100 * PI)
    env.flow.approve(order.payment.id)
    txid = make_tx(env, order)
    env.flow.submit_txid(order.payment.id, txid)

    refused = env.flow.verify_and_complete(order.payment.id)

    assert refused.status == S.ERROR
    assert refused.error_reason is not None and reason in refused.error_reason
    pi = env.platform.get_payment(order.pi_id)
    assert not pi.status.developer_completed
    if pi.transaction is None:  # nothing linked on Pi: cancelled there so the Pioneer is not blocked
        assert pi.status.cancelled and "cancelled on the Pi platform" in refused.error_reason
    with env.db.sessions() as session:
        assert credits_of(session, order.payment.id) == []
        assert owed_to_merchant(session, order.payment.merchant_id) == 0
        assert moves_of(session, order.payment.id)[-1] == ("pending_anchor", "error")
    # Verifying again changes nothing.
    assert env.flow.verify_and_complete(order.payment.id).status == S.ERROR


def test_txid_already_used_by_another_payment_is_refused(env: Env) -> None:
    first, second = new_order(env), new_order(env)
    env.flow.approve(first.payment.id)
    txid = env.control.wallet_pay(first.pi_id)
    env.flow.submit_txid(first.payment.id, txid)
    env.flow.verify_and_complete(first.payment.id)
    env.flow.approve(second.payment.id)

    with pytest.raises(TxidAlreadyUsedError, match="already recorded for another payment"):
        env.flow.submit_txid(second.payment.id, txid)

    assert env.flow.get(second.payment.id).status == S.PENDING_USER_TRANSFER_START
    with env.db.sessions() as session:
        assert credits_of(session, second.payment.id) == []
        assert owed_to_merchant(session, second.payment.merchant_id) == 0
        assert len(credits_of(session, first.payment.id)) == 3


def test_expired_quote_is_not_approved_and_is_cancelled_on_pi(env: Env) -> None:
    order = new_order(env)
    env.clock.advance(301)

    expired = env.flow.approve(order.payment.id)

    assert expired.status == S.EXPIRED and "expired" in (expired.error_reason or "")
    pi = env.platform.get_payment(order.pi_id)
    assert pi.status.cancelled and not pi.status.developer_approved
    with pytest.raises(InvalidTransitionError):
        env.flow.submit_txid(order.payment.id, "ab" * 32)
    with env.db.sessions() as session:
        assert credits_of(session, order.payment.id) == []


def test_already_completed_on_pi_is_reconciled_by_reading_the_payment_back(env: Env) -> None:
    order = new_order(env)
    env.flow.approve(order.payment.id)
    txid = env.control.wallet_pay(order.pi_id)
    env.flow.submit_txid(order.payment.id, txid)
    # A previous attempt completed on Pi and crashed before its SQL commit.
    env.platform.complete_payment(order.pi_id, txid)

    done = env.flow.verify_and_complete(order.payment.id)

    assert done.status == S.PENDING_STELLAR
    with env.db.sessions() as session:
        assert owed_to_merchant(session, order.payment.merchant_id) == order.quote.buy_amount


def test_submit_txid_same_again_is_a_no_op_and_another_is_a_conflict(env: Env) -> None:
    order = new_order(env)
    with pytest.raises(InvalidTransitionError):  # not approved yet
        env.flow.submit_txid(order.payment.id, "cd" * 32)
    env.flow.approve(order.payment.id)
    txid = env.control.wallet_pay(order.pi_id)
    env.flow.submit_txid(order.payment.id, txid)

    assert env.flow.submit_txid(order.payment.id, txid).txid == txid
    with pytest.raises(TxidMismatchError, match="already paid by Pi transaction"):
        env.flow.submit_txid(order.payment.id, "ef" * 32)
    with pytest.raises(InvalidTxidError):
        env.flow.submit_txid(order.payment.id, "not-a-hash")
    with env.db.sessions() as session:
        assert moves_of(session, order.payment.id) == HAPPY_MOVES[:2]


def test_payment_that_does_not_match_its_quote_is_not_approved(env: Env) -> None:
    order = new_order(env)
    # The Pi platform's payment is for another amount than our record (e.g. a tampered client).
    other = env.control.create_user(100 * PI)
    with env.db.sessions() as session, session.begin():
        quote = env.quotes.create(session, sell_asset="PI", buy_asset="IDR", sell_amount=10 * PI)
    pi_id = env.control.create_u2a_payment(other.uid, 3, "Pecel", payment_metadata("m-tamper", quote.id))
    with env.db.sessions() as session, session.begin():
        payment = env.payments.create(session, pi_payment_id=pi_id, merchant_id="m-tamper", quote_id=quote.id)

    refused = env.flow.approve(payment.id)

    assert refused.status == S.ERROR and "differs from the quote" in (refused.error_reason or "")
    assert env.platform.get_payment(pi_id).status.cancelled
    assert env.flow.get(order.payment.id).status == S.INCOMPLETE


@pytest.mark.parametrize(
    "metadata",
    [
        pytest.param(lambda merchant, quote: {}, id="no-metadata"),
        pytest.param(lambda merchant, quote: payment_metadata("m-someone-else", quote), id="other-merchant"),
        pytest.param(lambda merchant, quote: payment_metadata(merchant, uuid.uuid4()), id="other-quote"),
        pytest.param(lambda merchant, quote: {"merchant": merchant}, id="no-quote"),
        pytest.param(lambda merchant, quote: {"merchant": [merchant], "quote": str(quote)}, id="not-text"),
    ],
)
def test_payment_not_bound_to_its_merchant_and_quote_is_never_approved_nor_cancelled_on_pi(
    env: Env, metadata: Callable[[str, uuid.UUID], dict[str, object]]
) -> None:
    """A Pi payment whose metadata names another merchant or quote (or none) is someone else's:
    the approval step refuses it without approving it on Pi, and leaves it alone there (cancelling
    it would break the payment for the merchant it is meant for)."""
    user = env.control.create_user(100 * PI)
    with env.db.sessions() as session, session.begin():
        quote = env.quotes.create(session, sell_asset="PI", buy_asset="IDR", sell_amount=10 * PI)
    merchant = f"m-{uuid.uuid4().hex[:10]}"
    pi_id = env.control.create_u2a_payment(user.uid, 10, "Pecel", metadata(merchant, quote.id))
    with env.db.sessions() as session, session.begin():
        payment = env.payments.create(session, pi_payment_id=pi_id, merchant_id=merchant, quote_id=quote.id)

    refused = env.flow.approve(payment.id)

    assert refused.status == S.ERROR and "is not bound to" in (refused.error_reason or "")
    assert "m-someone-else" not in (refused.error_reason or "")
    on_pi = env.platform.get_payment(pi_id).status
    assert not on_pi.developer_approved and not on_pi.cancelled
    with env.db.sessions() as session:
        assert credits_of(session, payment.id) == []


def test_transaction_of_an_unbound_payment_is_refused_at_verification(env: Env) -> None:
    """Pi approved the payment (say, an approval made before the binding was required) and the
    customer paid: the transaction is not credited to a merchant the metadata does not name."""
    user = env.control.create_user(100 * PI)
    with env.db.sessions() as session, session.begin():
        quote = env.quotes.create(session, sell_asset="PI", buy_asset="IDR", sell_amount=10 * PI)
    pi_id = env.control.create_u2a_payment(user.uid, 10, "Pecel", payment_metadata("m-intended", quote.id))
    with env.db.sessions() as session, session.begin():
        payment = env.payments.create(
            session, pi_payment_id=pi_id, merchant_id="m-claimer", quote_id=quote.id
        )
    env.platform.approve_payment(pi_id)
    txid = env.control.wallet_pay(pi_id)

    with pytest.raises(InvalidTransitionError):  # Pi approved it, but not for this merchant
        env.flow.submit_txid(payment.id, txid)
    assert env.flow.get(payment.id).status == S.INCOMPLETE
    env.flow.approve(payment.id)
    assert env.flow.get(payment.id).status == S.ERROR
    with env.db.sessions() as session:
        assert credits_of(session, payment.id) == []


def test_transaction_made_after_the_deadline_is_refused(env: Env) -> None:
    # Quoted and approved 400 s ago: the quote (300 s) and its grace (60 s) are over when the
    # Pioneer's transaction closes now. (The peer's ledger clock is shared by the module: not skewed.)
    env.clock.now = datetime.now(UTC) - timedelta(seconds=400)
    order = new_order(env)
    env.flow.approve(order.payment.id)
    txid = env.control.wallet_pay(order.pi_id)
    env.flow.submit_txid(order.payment.id, txid)

    refused = env.flow.verify_and_complete(order.payment.id)

    assert refused.status == S.ERROR and "after the payment's deadline" in (refused.error_reason or "")
    with env.db.sessions() as session:
        assert credits_of(session, order.payment.id) == []


def test_transaction_arriving_before_the_approval_move_is_recorded_and_settles_once(env: Env) -> None:
    """Pi approved the payment (our approval call went through) and the customer paid before our
    approval step recorded its move: the completion callback makes that move, records the txid,
    the approval step then finds nothing to do, and verification credits the payment once."""
    order = new_order(env)
    env.platform.approve_payment(order.pi_id)  # the approval step's call to Pi, its move not yet made
    txid = env.control.wallet_pay(order.pi_id)

    assert env.flow.submit_txid(order.payment.id, txid).status == S.PENDING_ANCHOR
    assert env.flow.submit_txid(order.payment.id, txid).status == S.PENDING_ANCHOR  # a re-delivery
    assert env.flow.approve(order.payment.id).status == S.PENDING_ANCHOR  # nothing left to approve
    assert env.flow.verify_and_complete(order.payment.id).status == S.PENDING_STELLAR
    assert env.flow.verify_and_complete(order.payment.id).status == S.PENDING_STELLAR
    with env.db.sessions() as session:
        assert moves_of(session, order.payment.id) == HAPPY_MOVES
        assert len(credits_of(session, order.payment.id)) == 3
        assert owed_to_merchant(session, order.payment.merchant_id) == order.quote.buy_amount


def test_transaction_for_a_payment_pi_never_approved_is_refused_and_nothing_is_recorded(env: Env) -> None:
    """A completion callback for a payment nobody approved (its transaction made outside the Pi
    wallet, with the right memo and amount) is refused: no txid, no move, no credit."""
    order = new_order(env)
    txid = pay_custom(
        env.peer, order.user.secret_seed, [(env.peer.app.public_key, order.quote.sell_amount)], order.pi_id
    )

    with pytest.raises(InvalidTransitionError, match="its status is incomplete"):
        env.flow.submit_txid(order.payment.id, txid)

    current = env.flow.get(order.payment.id)
    assert (current.status, current.txid) == (S.INCOMPLETE, None)
    with env.db.sessions() as session:
        assert moves_of(session, order.payment.id) == []
        assert credits_of(session, order.payment.id) == []
