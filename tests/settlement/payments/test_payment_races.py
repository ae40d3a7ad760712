"""Races on PostgreSQL: concurrent movers of one payment, concurrent users of one quote or txid."""

from __future__ import annotations

import threading
from collections.abc import Callable

from sqlalchemy.orm import Session

from common.errors import MSCError
from settlement.payments.errors import InvalidTransitionError
from settlement.payments.models import PaymentStatus as S
from settlement.payments.service import PaymentService
from tests.settlement.ledger.support import Clock, make_payment, make_quote, quote_service, unique


def race(db, work: Callable[[Session, int], object], n: int = 2) -> tuple[list[object], list[BaseException]]:
    """Runs ``work`` in ``n`` threads, each in its own committed transaction, released together."""
    barrier = threading.Barrier(n)
    wins: list[object] = []
    losses: list[BaseException] = []

    def run(i: int) -> None:
        try:
            with db.sessions() as session, session.begin():
                barrier.wait()
                wins.append(work(session, i))
        except MSCError as exc:
            losses.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return wins, losses


def test_two_threads_racing_one_move_exactly_one_wins(pg_db):
    clock = Clock()
    payments = PaymentService(quote_service(clock), clock=clock)
    with pg_db.sessions() as session, session.begin():
        payment = make_payment(session, clock)
    wins, losses = race(
        pg_db,
        lambda s, i: payments.transition(s, payment.id, S.INCOMPLETE, S.PENDING_USER_TRANSFER_START, f"t{i}"),
    )
    assert len(wins) == 1 and len(losses) == 1
    assert isinstance(losses[0], InvalidTransitionError)
    assert "its status is pending_user_transfer_start" in str(losses[0])
    with pg_db.sessions() as session:
        assert len(payments.history(session, payment.id)) == 1


def test_two_payments_racing_for_one_quote_exactly_one_gets_it(pg_db):
    clock = Clock()
    payments = PaymentService(quote_service(clock), clock=clock)
    with pg_db.sessions() as session, session.begin():
        quote = make_quote(session, clock)
    wins, losses = race(
        pg_db, lambda s, i: payments.create(s, pi_payment_id=unique("pi"), merchant_id="m", quote_id=quote.id)
    )
    assert len(wins) == 1 and len(losses) == 1
    assert "already used by payment" in str(losses[0])


def test_two_payments_racing_with_one_txid_exactly_one_records_it(pg_db):
    clock = Clock()
    payments = PaymentService(quote_service(clock), clock=clock)
    txid = unique("tx")
    with pg_db.sessions() as session, session.begin():
        pair = [make_payment(session, clock) for _ in range(2)]
        for p in pair:
            payments.transition(session, p.id, S.INCOMPLETE, S.PENDING_USER_TRANSFER_START, "approved")
    wins, losses = race(pg_db, lambda s, i: payments.record_txid(s, pair[i].id, txid))
    assert len(wins) == 1 and len(losses) == 1
    assert getattr(losses[0], "code", None) == "txid_already_used"
