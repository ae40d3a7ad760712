"""Payments: creation at a quote, SEP-24-style moves with history, the unique txid."""

from __future__ import annotations

import uuid

import pytest

from common.errors import ValidationError
from settlement.payments.errors import (
    InvalidTransitionError,
    PaymentConflictError,
    PaymentNotFoundError,
    TxidAlreadyUsedError,
)
from settlement.payments.models import PaymentStatus as S
from settlement.payments.schemas import PaymentRead
from settlement.payments.service import PAYMENT_MACHINE, PaymentService
from settlement.quotes.errors import QuoteAlreadyUsedError, QuoteExpiredError
from tests.settlement.ledger.support import make_payment, make_quote, quote_service, unique


def service(clock):
    return PaymentService(quote_service(clock), clock=clock)


def test_happy_path_records_each_move(db, clock):
    payments = service(clock)
    txid = unique("tx")
    with db.sessions() as session, session.begin():
        payment = make_payment(session, clock)
        assert payment.status == S.INCOMPLETE
        payments.transition(
            session, payment.id, S.INCOMPLETE, S.PENDING_USER_TRANSFER_START, "approved on Pi"
        )
        payments.record_txid(session, payment.id, txid)
        payments.transition(
            session, payment.id, S.PENDING_ANCHOR, S.PENDING_STELLAR, "verified, completed on Pi"
        )
        done = payments.transition(session, payment.id, S.PENDING_STELLAR, S.COMPLETED, "minted to escrow")
    assert done.status == S.COMPLETED and done.txid == txid
    with db.sessions() as session:
        history = payments.history(session, payment.id)
        assert [(h.from_status, h.to_status) for h in history] == [
            (S.INCOMPLETE, S.PENDING_USER_TRANSFER_START),
            (S.PENDING_USER_TRANSFER_START, S.PENDING_ANCHOR),
            (S.PENDING_ANCHOR, S.PENDING_STELLAR),
            (S.PENDING_STELLAR, S.COMPLETED),
        ]
        assert history[1].reason == f"Pi transaction {txid} received"
        assert PaymentRead.from_payment(payments.get(session, payment.id)).status == S.COMPLETED


def test_illegal_move_is_refused_by_name(db, clock):
    with db.sessions() as session, session.begin():
        payment = make_payment(session, clock)
        with pytest.raises(InvalidTransitionError, match="incomplete -> completed is not a legal transition"):
            service(clock).transition(session, payment.id, S.INCOMPLETE, S.COMPLETED, "skip")


def test_stale_move_names_the_actual_status_and_writes_no_history(db, clock):
    payments = service(clock)
    with db.sessions() as session, session.begin():
        payment = make_payment(session, clock)
        payments.transition(session, payment.id, S.INCOMPLETE, S.EXPIRED, "quote lapsed")
        with pytest.raises(InvalidTransitionError, match="its status is expired, not incomplete") as caught:
            payments.transition(session, payment.id, S.INCOMPLETE, S.PENDING_USER_TRANSFER_START, "late")
        assert caught.value.status_code == 409
        assert len(payments.history(session, payment.id)) == 1


def test_unknown_payment_is_not_found(db, clock):
    with db.sessions() as session, pytest.raises(PaymentNotFoundError):
        service(clock).transition(session, uuid.uuid4(), S.INCOMPLETE, S.EXPIRED, "gone")


def test_a_txid_pays_one_payment_only(db, clock):
    payments = service(clock)
    txid = unique("tx")
    with db.sessions() as session, session.begin():
        first, second = make_payment(session, clock), make_payment(session, clock)
        for p in (first, second):
            payments.transition(session, p.id, S.INCOMPLETE, S.PENDING_USER_TRANSFER_START, "approved")
        payments.record_txid(session, first.id, txid)
        # A duplicate callback for the same payment is harmless.
        assert payments.record_txid(session, first.id, txid).status == S.PENDING_ANCHOR
        with pytest.raises(TxidAlreadyUsedError, match="already recorded for another payment") as refused:
            payments.record_txid(session, second.id, txid)
        assert refused.value.other_payment_id == first.id and str(first.id) not in str(
            refused.value.to_dict()
        )
        assert payments.get(session, second.id).status == S.PENDING_USER_TRANSFER_START


def test_error_keeps_its_reason_and_can_be_refunded(db, clock):
    payments = service(clock)
    with db.sessions() as session, session.begin():
        payment = make_payment(session, clock)
        payments.transition(session, payment.id, S.INCOMPLETE, S.PENDING_USER_TRANSFER_START, "approved")
        payments.record_txid(session, payment.id, unique("tx"))
        failed = payments.fail(session, payment.id, S.PENDING_ANCHOR, "amount on Horizon is 1 Pi short")
        assert failed.error_reason == "amount on Horizon is 1 Pi short"
        assert (
            payments.transition(session, payment.id, S.ERROR, S.REFUNDED, "Pi returned").status == S.REFUNDED
        )


def test_moves_cannot_set_other_columns_or_omit_a_reason(db, clock):
    with db.sessions() as session, session.begin():
        payment = make_payment(session, clock)
        with pytest.raises(ValidationError, match="cannot set"):
            service(clock).transition(session, payment.id, S.INCOMPLETE, S.EXPIRED, "x", idr_amount=1)
        with pytest.raises(ValidationError, match="needs a reason"):
            service(clock).transition(session, payment.id, S.INCOMPLETE, S.EXPIRED, "")


def test_create_is_idempotent_by_pi_payment_id(db, clock):
    payments = service(clock)
    with db.sessions() as session, session.begin():
        quote = make_quote(session, clock)
        pi_id, merchant = unique("pi"), unique("m")
        first = payments.create(session, pi_payment_id=pi_id, merchant_id=merchant, quote_id=quote.id)
        again = payments.create(session, pi_payment_id=pi_id, merchant_id=merchant, quote_id=quote.id)
        assert again.id == first.id
        assert (first.pi_amount, first.fee_pi, first.idr_amount) == (
            quote.sell_amount,
            quote.fee_total,
            quote.buy_amount,
        )
        with pytest.raises(PaymentConflictError, match=pi_id):
            payments.create(session, pi_payment_id=pi_id, merchant_id="someone-else", quote_id=quote.id)


def test_create_refuses_used_or_expired_quotes(db, clock):
    payments = service(clock)
    with db.sessions() as session, session.begin():
        quote = make_quote(session, clock)
        payments.create(session, pi_payment_id=unique("pi"), merchant_id="m", quote_id=quote.id)
        with pytest.raises(QuoteAlreadyUsedError):
            payments.create(session, pi_payment_id=unique("pi"), merchant_id="m", quote_id=quote.id)
        fresh = make_quote(session, clock)
        clock.advance(301)
        with pytest.raises(QuoteExpiredError, match="expired at"):
            payments.create(session, pi_payment_id=unique("pi"), merchant_id="m", quote_id=fresh.id)


def test_machine_shape():
    terminal = {s for s in S if PAYMENT_MACHINE.is_terminal(s)}
    assert terminal == {S.COMPLETED, S.EXPIRED, S.REFUNDED}
    # Every status is reachable from the initial one.
    seen, todo = {PAYMENT_MACHINE.initial}, [PAYMENT_MACHINE.initial]
    while todo:
        for nxt in PAYMENT_MACHINE.moves[todo.pop()]:
            if nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
    assert seen == set(S)
