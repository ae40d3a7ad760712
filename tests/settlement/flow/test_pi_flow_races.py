"""Races on PostgreSQL: the same Pi callback delivered 5 times at once (one credit, one history row
per move, every caller answered with the settled payment), and two refunds racing for the app
wallet (one payout in flight: never two envelopes with the same sequence number)."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Iterator

import pytest

from settlement.flow.errors import WalletBusyError
from settlement.flow.models import RefundStatus
from settlement.payments.models import Payment
from settlement.payments.models import PaymentStatus as S
from tests.settlement.flow.support import (
    PI,
    Env,
    Peer,
    credits_of,
    make_env,
    moves_of,
    new_order,
    owed_to_merchant,
)
from tests.settlement.ledger.support import Db, _open

N = 5


@pytest.fixture(scope="module")
def pg_env(pg_schema_factory: Callable[[], str], peer: Peer) -> Iterator[Env]:
    """The services on a PostgreSQL schema of this module."""
    db: Db = _open("postgresql", pg_schema_factory())
    built = make_env(db, peer)
    yield built
    built.close()
    db.engine.dispose()


def deliver_at_once(work: Callable[[], Payment]) -> tuple[list[Payment], list[BaseException]]:
    """Runs ``work`` in ``N`` threads released together."""
    barrier = threading.Barrier(N)
    results: list[Payment] = []
    errors: list[BaseException] = []

    def run() -> None:
        barrier.wait()
        try:
            results.append(work())
        except BaseException as exc:  # collected and asserted on below
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(N)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results, errors


def test_five_concurrent_deliveries_of_each_callback_credit_once(pg_env: Env) -> None:
    env = pg_env
    order = new_order(env)
    payment_id = order.payment.id

    approved, errors = deliver_at_once(lambda: env.flow.approve(payment_id))
    assert errors == []
    assert [p.status for p in approved] == [S.PENDING_USER_TRANSFER_START] * N

    txid = env.control.wallet_pay(order.pi_id)

    def callback() -> Payment:
        env.flow.submit_txid(payment_id, txid)
        return env.flow.verify_and_complete(payment_id)

    settled, errors = deliver_at_once(callback)
    assert errors == []
    assert [p.status for p in settled] == [S.PENDING_STELLAR] * N
    with env.db.sessions() as session:
        assert moves_of(session, payment_id) == [
            ("incomplete", "pending_user_transfer_start"),
            ("pending_user_transfer_start", "pending_anchor"),
            ("pending_anchor", "pending_stellar"),
        ]
        assert len(credits_of(session, payment_id)) == 3
        assert owed_to_merchant(session, order.payment.merchant_id) == order.quote.buy_amount
    assert env.platform.get_payment(order.pi_id).status.developer_completed


def test_two_refunds_racing_for_the_wallet_never_sign_the_same_sequence(pg_env: Env) -> None:
    env = pg_env
    orders = []
    for paid in (3 * PI, 4 * PI):
        order = new_order(env)
        env.flow.approve(order.payment.id)
        env.flow.submit_txid(order.payment.id, env.control.wallet_pay(order.pi_id, amount_stroops=paid))
        assert env.flow.verify_and_complete(order.payment.id).status == S.ERROR
        orders.append((order, paid, env.horizon.balance(order.user.public_key)))
    refunds = [env.refunds.request(order.payment.id, "wrong amount") for order, _paid, _b in orders]
    for refund in refunds:
        env.refunds.process(refund.id, max_steps=1)  # created on Pi; both now want the wallet
    barrier = threading.Barrier(2)
    outcomes: list[object] = []

    def run(refund_id: uuid.UUID) -> None:
        barrier.wait()
        try:
            outcomes.append(env.refunds.process(refund_id).status)
        except WalletBusyError as exc:
            outcomes.append(exc.code)

    threads = [threading.Thread(target=run, args=(r.id,)) for r in refunds]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    env.refunds.resume_all()  # whichever waited goes now

    assert set(outcomes) <= {RefundStatus.COMPLETED, "pi_wallet_busy"} and RefundStatus.COMPLETED in outcomes
    done = [env.refunds.get(r.id) for r in refunds]
    assert [r.status for r in done] == [RefundStatus.COMPLETED] * 2
    sequences = [env.horizon.get_transaction(r.txid or "").sequence for r in done]
    assert len(set(sequences)) == 2
    for (order, paid, before), _refund in zip(orders, done, strict=True):
        assert env.horizon.balance(order.user.public_key) == before + paid
