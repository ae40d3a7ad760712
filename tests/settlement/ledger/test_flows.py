"""The business movements end to end: a Pi payment settled, released and redeemed."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from common.errors import ValidationError
from settlement.ledger import chart, flows, repository
from settlement.ledger.models import Currency, JournalEntry
from settlement.ledger.service import balance_of
from settlement.payouts.service import PayoutService
from settlement.quotes.models import Quote
from tests.settlement.ledger.support import make_payment, unique


def movements(session, payment, quote, payout):
    flows.record_pi_received(session, payment)
    flows.record_conversion(session, payment, quote)
    flows.record_msc_minted_to_escrow(session, payment)
    flows.record_release(session, payment)
    flows.record_redemption(session, payout)


def test_payment_to_payout_balances_every_account(db, clock):
    merchant = unique("m")
    with db.sessions() as session, session.begin():
        payment = make_payment(session, clock, merchant)
        quote = session.get(Quote, payment.quote_id)
        payout = PayoutService(clock).request(
            session,
            idempotency_key=unique("po"),
            merchant_id=merchant,
            amount=1_000_000,
            fee=2_500,
            bank_account="BCA 123",
        )
        before = {ref: balance_of(session, ref) for ref in _global_accounts()}
        movements(session, payment, quote, payout)
        flows.record_payout_paid(session, payout)
        entries = session.scalar(
            select(func.count())
            .select_from(JournalEntry)
            .where(JournalEntry.reference.in_([str(payment.id), str(payout.id)]))
        )
        # Replaying every movement (a retried task) posts nothing.
        movements(session, payment, quote, payout)
        flows.record_payout_paid(session, payout)
        assert (
            session.scalar(
                select(func.count())
                .select_from(JournalEntry)
                .where(JournalEntry.reference.in_([str(payment.id), str(payout.id)]))
            )
            == entries
            == 7
        )

    def delta(ref):
        return balance_of(session, ref) - before[ref]

    with db.sessions() as session:
        assert delta(chart.PI_PLATFORM_WALLET) == payment.pi_amount
        assert delta(chart.PI_RECEIVED) == 0
        assert delta(chart.FEES_INCOME_PI) == payment.fee_pi == quote.fee_total
        assert delta(chart.FX_CONVERSION_PI) == payment.pi_amount - payment.fee_pi
        assert delta(chart.FX_CONVERSION_IDR) == -payment.idr_amount  # equity debited: Rupiah promised
        assert balance_of(session, chart.idr_owed_to_merchant(merchant)) == 0
        assert balance_of(session, chart.msc_minted_to_escrow(merchant)) == 0
        assert balance_of(session, chart.msc_merchant_balance(merchant)) == payment.idr_amount - 1_000_000
        assert delta(chart.FEES_INCOME_IDR) == 2_500
        assert delta(chart.MERCHANT_PAYOUTS_PENDING) == 0
        assert delta(chart.BANK_PAYOUTS) == -997_500
        assert repository.entry_imbalances(session) == []


def test_failed_payout_reversed_gives_the_merchant_everything_back(db, clock):
    merchant = unique("m")
    with db.sessions() as session, session.begin():
        payment = make_payment(session, clock, merchant)
        quote = session.get(Quote, payment.quote_id)
        payout = PayoutService(clock).request(
            session,
            idempotency_key=unique("po"),
            merchant_id=merchant,
            amount=500_000,
            fee=1_000,
            bank_account="x",
        )
        failed_before = balance_of(session, chart.PAYOUTS_FAILED)
        movements(session, payment, quote, payout)
        flows.record_payout_failed(session, payout)
        assert balance_of(session, chart.PAYOUTS_FAILED) - failed_before == 499_000
        flows.record_payout_reversed(session, payout)
        assert balance_of(session, chart.PAYOUTS_FAILED) == failed_before
        assert balance_of(session, chart.msc_merchant_balance(merchant)) == payment.idr_amount


def test_conversion_refuses_another_payments_quote(db, clock):
    with db.sessions() as session, session.begin():
        payment = make_payment(session, clock)
        other = make_payment(session, clock)
        other_quote = session.get(Quote, other.quote_id)
        with pytest.raises(ValidationError, match="does not match payment"):
            flows.record_conversion(session, payment, other_quote)


def test_conversion_posts_one_entry_per_currency(db, clock):
    with db.sessions() as session, session.begin():
        payment = make_payment(session, clock)
        quote = session.get(Quote, payment.quote_id)
        pi_entry, idr_entry = flows.record_conversion(session, payment, quote)
        assert (pi_entry.currency, idr_entry.currency) == (Currency.PI, Currency.IDR)
        fee_legs = [p.amount for p in pi_entry.postings if p.account.code == "fees_income"]
        assert fee_legs == [-int(d["amount"]) for d in quote.fee_details]


def _global_accounts():
    return (
        chart.PI_PLATFORM_WALLET,
        chart.PI_RECEIVED,
        chart.FEES_INCOME_PI,
        chart.FX_CONVERSION_PI,
        chart.FX_CONVERSION_IDR,
        chart.FEES_INCOME_IDR,
        chart.MERCHANT_PAYOUTS_PENDING,
        chart.BANK_PAYOUTS,
    )
