"""The monthly statement equals the ledger: built through the real services on both backends."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from merchant_reports import statement
from merchant_reports.errors import ReportPeriodError
from merchant_reports.periods import Month
from settlement.ledger import chart
from settlement.ledger.service import balance_of
from tests.merchant_reports.support import Books, wib
from tests.support.factories import add_merchant

MARCH = Month(2026, 3)


def build_march(db, clock, monkeypatch, merchant_id):
    """A March with sales on its first and last minutes, a refund, a release and a payout, and
    movements just outside it (February, April, another merchant) that must not count."""
    other = add_merchant(db.sessions, name="Toko Lain")
    with db.sessions.begin() as session:
        books = Books(session, clock, str(merchant_id), monkeypatch)
        feb = books.at(wib(2026, 2, 28, 23, 30)).sale()  # last half hour of February in Madiun
        first = books.at(wib(2026, 3, 1, 0, 30)).sale()  # 17:30 UTC on 28 February
        second = books.at(wib(2026, 3, 1, 10)).sale()
        books.refund(second, 1_000_00)
        books.at(wib(2026, 3, 15, 9)).sale()
        books.release(feb)
        books.release(first)
        payout = books.payout(first.idr_amount, 2_500_00)
        books.guarantee_refund(feb, 300_00)  # after release: the fund pays, the merchant owes it
        last = books.at(wib(2026, 3, 31, 23, 59)).sale(mint=False)  # converted, not minted yet
        books.at(wib(2026, 4, 1, 0, 0)).sale()  # April
        other_books = Books(session, clock, str(other), monkeypatch).at(wib(2026, 3, 10))
        other_books.guarantee_refund(other_books.sale(), 100_00)
    return {"feb": feb, "march": [first, second, books.payments[3], last], "payout": payout}


def test_statement_totals_equal_the_ledger_movements_of_the_month(db, clock, monkeypatch):
    merchant_id = add_merchant(db.sessions, name="Warung Bu Sri", kelurahan="Kartoharjo")
    built = build_march(db, clock, monkeypatch, merchant_id)
    march = built["march"]
    with db.sessions() as session:
        st = statement.build(session, merchant_id, MARCH, wib(2026, 4, 2))

        # Sales: the four March payments, on their Jakarta days, at the Rupiah the ledger owes.
        assert st.sales == 4
        assert st.gross == sum(p.idr_amount for p in march)
        assert st.fees_pi == sum(p.fee_pi for p in march) > 0
        assert st.refunds == 1_000_00
        assert st.covered == 300_00
        assert st.net == st.gross - 1_000_00 - 300_00
        assert [d.covered for d in st.days if d.covered] == [300_00]
        by_day = {line.day: line for line in st.days if line.sales}
        assert sorted(by_day) == [date(2026, 3, 1), date(2026, 3, 15), date(2026, 3, 31)]
        assert by_day[date(2026, 3, 1)].sales == 2
        assert by_day[date(2026, 3, 1)].refunds == 1_000_00
        assert len(st.days) == 31
        assert st.released == built["feb"].idr_amount + march[0].idr_amount
        assert [(p.amount, p.fee, p.net, p.status) for p in st.payouts] == [
            (march[0].idr_amount, 2_500_00, march[0].idr_amount - 2_500_00, "requested")
        ]

        # Each account: opening and closing equal the ledger's own balances at the month's edges,
        # and the movement between them is exactly what the statement names.
        before, last_instant = MARCH.start - timedelta(microseconds=1), MARCH.end - timedelta(microseconds=1)
        owner = str(merchant_id)
        refs = {
            "owed": chart.idr_owed_to_merchant(owner),
            "escrow": chart.msc_minted_to_escrow(owner),
            "wallet": chart.msc_merchant_balance(owner),
        }
        lines = dict(zip(refs, st.accounts, strict=True))
        for name, ref in refs.items():
            assert lines[name].code == ref.code
            assert lines[name].opening == balance_of(session, ref, as_of=before)
            assert lines[name].closing == balance_of(session, ref, as_of=last_instant)
            assert lines[name].other == 0

        def delta(name):
            return lines[name].closing - lines[name].opening

        assert delta("owed") == st.gross - st.minted
        assert delta("escrow") == st.minted - st.released - st.refunds
        assert delta("wallet") == st.released - st.payouts_amount + st.reversed
        assert st.minted == sum(p.idr_amount for p in march[:3])
        # The redemption fee and the net transfer equal the platform's side of the same entries.
        assert st.payouts_fee + st.payouts_net == st.payouts_amount


def test_a_month_without_movements_is_all_zero_with_its_balances(db, clock, monkeypatch):
    merchant_id = add_merchant(db.sessions)
    build_march(db, clock, monkeypatch, merchant_id)
    with db.sessions() as session:
        st = statement.build(session, merchant_id, Month(2026, 5), wib(2026, 6, 1))
        assert (st.sales, st.gross, st.refunds, st.payouts) == (0, 0, 0, ())
        assert all(line.opening == line.closing for line in st.accounts)
        assert st.accounts[0].closing == balance_of(session, chart.idr_owed_to_merchant(str(merchant_id)))


def test_unknown_merchant_is_not_found(db):
    import uuid

    with db.sessions() as session, pytest.raises(statement.MerchantNotFoundError):
        statement.build(session, uuid.uuid4(), MARCH, wib(2026, 4, 1))


@pytest.mark.parametrize("text", ["2026-13", "2026-3", "26-03", "1999-12", "2026-03-01", ""])
def test_month_parse_refuses_what_is_not_a_month(text):
    with pytest.raises(ReportPeriodError):
        Month.parse(text)


def test_month_edges_are_jakarta_midnights():
    assert MARCH.start.isoformat() == "2026-02-28T17:00:00+00:00"
    assert MARCH.end.isoformat() == "2026-03-31T17:00:00+00:00"
    assert Month.parse("2026-12").next_first_day == date(2027, 1, 1)
