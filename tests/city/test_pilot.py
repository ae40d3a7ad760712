"""The pilot simulator (launcher/pilot.py): deterministic, all simulated, and the books add up."""

from __future__ import annotations

from datetime import date, time

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from api.merchants.models import Merchant
from city.kelurahan import BY_CODE
from launcher.pilot import (
    JAKARTA,
    PREFIX,
    Pilot,
    PilotPlan,
    PlanMismatchError,
    RealMerchantsPresentError,
    main,
)
from settlement.ledger import chart, flows
from settlement.ledger.repository import entry_imbalances
from settlement.ledger.service import balance_of
from settlement.payments.models import Payment, PaymentStatus, PaymentStatusChange
from tests.city.conftest import MakeDb
from tests.support.factories import add_merchant

END = date(2026, 11, 1)
SMALL = PilotPlan(merchants=10, days=7, seed=7, end=END)


def _state(sessions: sessionmaker[Session]) -> tuple[int, int, int, int]:
    """(merchants, payments, sum of Rupiah sen, sum of Pi minor) as stored."""
    with sessions() as session:
        merchants = session.scalar(select(func.count()).select_from(Merchant)) or 0
        payments, idr, pi = session.execute(
            select(func.count(), func.coalesce(func.sum(Payment.idr_amount), 0), func.sum(Payment.pi_amount))
        ).one()
        return merchants, payments, int(idr), int(pi or 0)


def test_sameSeed_sameCountsAndTotals_otherSeed_otherTotals(make_db: MakeDb) -> None:
    _, first = make_db()
    _, second = make_db()
    _, other = make_db()
    one = Pilot(first, SMALL).run()
    two = Pilot(second, SMALL).run()
    three = Pilot(other, PilotPlan(merchants=10, days=7, seed=8, end=END)).run()
    assert (one.merchants, one.pi_payments, one.msc_sales, one.idr_sen, one.pi_minor) == (
        two.merchants,
        two.pi_payments,
        two.msc_sales,
        two.idr_sen,
        two.pi_minor,
    )
    assert _state(first) == _state(second) == (10, one.pi_payments, one.idr_sen, one.pi_minor)
    assert (three.idr_sen, three.pi_minor) != (one.idr_sen, one.pi_minor)
    # About 2 sales per merchant per day, about half in Pi, around Rp 50.000 each.
    drawn = one.pi_payments + one.msc_sales
    assert 70 <= drawn <= 210
    assert 0.3 < one.pi_payments / drawn < 0.7
    assert 35_000 * 100 < one.idr_sen // one.pi_payments < 65_000 * 100


def test_everythingIsMarkedSimulated_inTheCitysKelurahan_atThePilotsTimes(make_db: MakeDb) -> None:
    _, sessions = make_db()
    summary = Pilot(sessions, SMALL).run()
    with sessions() as session:
        merchants = session.scalars(select(Merchant)).all()
        assert len(merchants) == 10
        assert all(m.simulated and m.name.startswith(PREFIX) for m in merchants)
        assert all(BY_CODE[m.kelurahan_code or ""].name == m.kelurahan for m in merchants)
        assert len({m.kelurahan_code for m in merchants}) == 10
        ids = {str(m.id) for m in merchants}
        payments = session.scalars(select(Payment)).all()
        assert len(payments) == summary.pi_payments > 0
        assert all(p.merchant_id in ids and p.pi_payment_id.startswith("simulasi-7-") for p in payments)
        assert {p.status for p in payments} == {PaymentStatus.COMPLETED}
        for p in payments:
            local = p.created_at.astimezone(JAKARTA)
            assert SMALL.first_day <= local.date() < END
            assert time(7) <= local.time() < time(21, 3)
        moves = session.scalar(select(func.count()).select_from(PaymentStatusChange)) or 0
        assert moves >= 4 * len(payments)


def test_theBooks_equalTheGeneratedPayments(make_db: MakeDb) -> None:
    _, sessions = make_db()
    summary = Pilot(sessions, SMALL).run()
    with sessions() as session:
        assert entry_imbalances(session) == []
        assert balance_of(session, chart.PI_PLATFORM_WALLET) == summary.pi_minor
        minted = 0
        for merchant_id in session.scalars(select(Merchant.id)):
            per_merchant = session.scalar(
                select(func.coalesce(func.sum(Payment.idr_amount), 0)).where(
                    Payment.merchant_id == str(merchant_id)
                )
            )
            in_escrow = balance_of(session, chart.msc_minted_to_escrow(str(merchant_id)))
            assert in_escrow == per_merchant
            assert balance_of(session, chart.idr_owed_to_merchant(str(merchant_id))) == 0
            minted += in_escrow
        assert minted == summary.idr_sen


def test_aSecondRun_createsNothingTwice(make_db: MakeDb) -> None:
    _, sessions = make_db()
    first = Pilot(sessions, SMALL).run()
    before = _state(sessions)
    again = Pilot(sessions, SMALL).run()
    assert _state(sessions) == before
    assert (again.pi_payments, again.idr_sen, sorted(again.payment_ids)) == (
        first.pi_payments,
        first.idr_sen,
        sorted(first.payment_ids),
    )


def test_aDatabaseWithRealMerchants_isRefused(make_db: MakeDb) -> None:
    _, sessions = make_db()
    add_merchant(sessions, name="Warung Bu Sri", kelurahan="Taman")
    before = _state(sessions)
    with pytest.raises(RealMerchantsPresentError):
        Pilot(sessions, SMALL).run()
    assert _state(sessions) == before


def test_cli_runsThePlan(make_db: MakeDb, capsys: pytest.CaptureFixture[str]) -> None:
    url, sessions = make_db()
    argv = ["--merchants", "3", "--days", "2", "--seed", "5", "--end", "2026-11-01", "--database-url", url]
    assert main(argv) == 0
    merchants, payments, _, _ = _state(sessions)
    assert merchants == 3
    out = capsys.readouterr().out
    assert "3 simulated merchants" in out and f"{payments} Pi payments" in out


def test_aRunCrashedMidway_isFinishedByTheNext_asIfItHadNotCrashed(
    make_db: MakeDb, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, clean = make_db()
    _, crashed = make_db()
    expected = Pilot(clean, SMALL).run()
    real_mint = flows.record_msc_minted_to_escrow
    calls = {"n": 0}

    def crash_on_the_fifth(session: Session, payment: Payment) -> object:
        calls["n"] += 1
        if calls["n"] == 5:
            raise RuntimeError("killed while booking the mint")
        return real_mint(session, payment)

    monkeypatch.setattr(flows, "record_msc_minted_to_escrow", crash_on_the_fifth)
    with pytest.raises(RuntimeError):
        Pilot(crashed, SMALL).run()
    with crashed() as session:
        statuses = set(session.scalars(select(Payment.status)))
    assert PaymentStatus.PENDING_STELLAR in statuses  # the crashed step rolled back alone
    monkeypatch.setattr(flows, "record_msc_minted_to_escrow", real_mint)
    resumed = Pilot(crashed, SMALL).run()
    assert (resumed.pi_payments, resumed.idr_sen, resumed.pi_minor) == (
        expected.pi_payments,
        expected.idr_sen,
        expected.pi_minor,
    )
    assert _state(crashed) == _state(clean)
    with crashed() as session:
        assert set(session.scalars(select(Payment.status))) == {PaymentStatus.COMPLETED}
        assert entry_imbalances(session) == []
        assert balance_of(session, chart.PI_PLATFORM_WALLET) == expected.pi_minor


def test_anotherPlanWithTheSameSeed_neverReusesOrMixesPayments(make_db: MakeDb) -> None:
    _, sessions = make_db()
    first = Pilot(sessions, SMALL).run()
    later = Pilot(sessions, PilotPlan(merchants=10, days=7, seed=7, end=date(2026, 12, 1))).run()
    merchants, payments, idr, _ = _state(sessions)
    assert merchants == 10  # the same simulated merchants, onboarded once
    assert payments == first.pi_payments + later.pi_payments  # other days: other payments
    assert idr == first.idr_sen + later.idr_sen
    before = _state(sessions)
    with pytest.raises(PlanMismatchError):
        Pilot(sessions, PilotPlan(merchants=5, days=7, seed=7, end=END)).run()
    assert _state(sessions) == before  # refused before any payment was written
