"""Property: no sequence of move attempts reaches an illegal state; history == successful moves."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from settlement.payments.errors import InvalidTransitionError
from settlement.payments.models import PaymentStatus as S
from settlement.payments.service import PAYMENT_MACHINE, PaymentService
from tests.settlement.ledger.support import Clock, make_payment, quote_service, unique

attempts = st.lists(st.tuples(st.sampled_from(list(S)), st.sampled_from(list(S))), min_size=1, max_size=15)


@settings(max_examples=25, deadline=None)
@given(attempts=attempts)
def test_random_move_attempts_follow_the_machine(db, attempts):
    clock = Clock()
    payments = PaymentService(quote_service(clock), clock=clock)
    with db.sessions() as session, session.begin():
        payment = make_payment(session, clock)
        status, successes = S.INCOMPLETE, 0
        for from_status, to_status in attempts:
            legal = to_status in PAYMENT_MACHINE.moves[from_status] and from_status == status
            try:
                extra = {"txid": unique("tx")} if to_status == S.PENDING_ANCHOR else {}
                payments.transition(session, payment.id, from_status, to_status, "prop", **extra)
            except InvalidTransitionError:
                assert not legal
            else:
                assert legal
                status, successes = to_status, successes + 1
            assert payments.get(session, payment.id).status == status
        history = payments.history(session, payment.id)
        assert len(history) == successes
        chain = [S.INCOMPLETE] + [S(h.to_status) for h in history]
        for step, change in enumerate(history):
            assert change.from_status == chain[step]
            assert S(change.to_status) in PAYMENT_MACHINE.moves[S(change.from_status)]
