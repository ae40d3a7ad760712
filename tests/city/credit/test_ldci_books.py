"""The LDCI read from the books of a small seeded pilot (SQLite and PostgreSQL): the inputs are the
pilot's own draws, refunds and disputes of the window's payments count, and
``python -m city.credit compute`` stores a day for the merchants consenting to scoring and no one
else, idempotently."""

from __future__ import annotations

import json
import uuid
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from fractions import Fraction
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from api.merchants.models import Merchant
from city.credit import consent
from city.credit.__main__ import main
from city.credit.inputs import JAKARTA, read_inputs
from city.credit.ldci import WINDOW_DAYS, score
from city.credit.ldci_models import LdciDaily, components_json
from common.sql.engine import create_engine_from_url, make_sessionmaker
from common.sql.migrate import upgrade
from indexer.models import EscrowPayment
from launcher.pilot import Pilot, PilotPlan, sales
from merchant_refunds.models import MerchantRefund
from settlement.minting.ids import escrow_payment_id
from settlement.payments.models import Payment
from tests.support.factories import add_merchant

PLAN = PilotPlan(merchants=4, days=35, seed=11, end=date(2026, 11, 1))
LAST = PLAN.end - timedelta(days=1)
GRANTED = datetime(2026, 11, 1, 2, tzinfo=UTC)
"""When merchants 0 and 1 consent to scoring (2 and 3 never do)."""


@dataclass
class PilotBooks:
    """A migrated database holding :data:`PLAN`, its merchants by pilot index."""

    url: str
    sessions: sessionmaker[Session]
    merchants: list[uuid.UUID]


def seeded_pilot(request: pytest.FixtureRequest, folder: Path) -> Iterator[PilotBooks]:
    """The pilot on the request's backend, with merchants 0 and 1 consenting to scoring."""
    if request.param == "sqlite":
        url = f"sqlite:///{folder / 'pilot.sqlite3'}"
    else:
        url = request.getfixturevalue("pg_schema_factory")()
    upgrade(url)
    engine = create_engine_from_url(url)
    sessions = make_sessionmaker(engine)
    Pilot(sessions, PLAN).run()
    with sessions.begin() as session:
        by_name = dict(session.execute(select(Merchant.pi_username, Merchant.id)).all())
        merchants = [by_name[f"simulasi_{PLAN.seed}_{i:03d}"] for i in range(PLAN.merchants)]
        for merchant_id in merchants[:2]:
            consent.grant(session, merchant_id, "scoring", None, "portal_user:test", GRANTED)
    yield PilotBooks(url, sessions, merchants)
    engine.dispose()


@pytest.fixture(scope="module", params=("sqlite", "postgresql"))
def pilot(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[PilotBooks]:
    """The seeded pilot, shared by the module's tests."""
    yield from seeded_pilot(request, tmp_path_factory.mktemp("ldci"))


def drawn_days(merchant: int) -> dict[date, tuple[int, int]]:
    """(count, sen) per Jakarta day of the merchant's Pi sales as the pilot draws them."""
    days: dict[date, tuple[int, int]] = defaultdict(lambda: (0, 0))
    for sale in sales(PLAN):
        if sale.in_pi and sale.merchant == merchant:
            day = sale.at.astimezone(JAKARTA).date()
            count, value = days[day]
            days[day] = (count + 1, value + sale.rupiah * 100)
    return dict(days)


def test_inputs_areThePilotsDraws_dayByDay(pilot: PilotBooks) -> None:
    drawn = drawn_days(0)
    with pilot.sessions() as session:
        inputs = read_inputs(session, pilot.merchants[0], LAST)
    first = LAST - timedelta(days=WINDOW_DAYS - 1)
    assert len(inputs.days) == WINDOW_DAYS and inputs.as_of == LAST
    assert {
        first + timedelta(days=n): (d.count, d.value_sen) for n, d in enumerate(inputs.days) if d.count
    } == drawn
    assert inputs.first_settled == min(drawn)
    assert (inputs.refunds, inputs.disputes) == (0, 0)
    # Each settled payment's payer (stored as the flow stores Pi's user_uid), counted per payer.
    simulator = Pilot(pilot.sessions, PLAN)
    payers = Counter(simulator.payer_uid(s) for s in sales(PLAN) if s.in_pi and s.merchant == 0)
    assert inputs.payer_counts == tuple(sorted(payers.values(), reverse=True))
    assert 1 < len(payers) < sum(payers.values())  # regulars come back, passers-by are new
    with pilot.sessions() as session:  # a day before the pilot: no history, no score
        before = read_inputs(session, pilot.merchants[0], PLAN.first_day - timedelta(days=1))
    assert before.payments == 0 and before.first_settled is None and score(before) is None


def test_refundsAndDisputes_ofTheWindowsPayments_count(pilot: PilotBooks) -> None:
    merchant = pilot.merchants[3]
    with pilot.sessions.begin() as session:
        payments = session.scalars(
            select(Payment.id).where(Payment.merchant_id == str(merchant)).order_by(Payment.id).limit(4)
        ).all()
        now = datetime(2026, 11, 1, tzinfo=UTC)
        for key, (payment, state) in enumerate(((payments[0], "confirmed"), (payments[1], "failed"))):
            session.add(
                MerchantRefund(
                    merchant_id=merchant,
                    payment_id=payment,
                    idempotency_key=f"k{key}",
                    route="escrow",
                    amount=100,
                    reason="test",
                    state=state,
                    created_at=now,
                    updated_at=now,
                )
            )
        for payment, status in ((payments[2], "split"), (payments[3], "released")):
            session.add(
                EscrowPayment(
                    escrow="0x" + "11" * 20,
                    payment_id="0x" + escrow_payment_id(payment).hex(),
                    merchant="0x" + "22" * 20,
                    payer="0x" + "33" * 20,
                    amount=100,
                    held=0,
                    status=status,
                    release_after=0,
                    released=0,
                    refunded=0,
                    covered=0,
                    deposit_block=1,
                    last_block=1,
                )
            )
        session.add(  # another escrow's payment, not a settlement payment's: ignored
            EscrowPayment(
                escrow="0x" + "11" * 20,
                payment_id="0x" + "ff" * 32,
                merchant="0x" + "22" * 20,
                payer="0x" + "33" * 20,
                amount=1,
                held=1,
                status="disputed",
                release_after=0,
                released=0,
                refunded=0,
                covered=0,
                deposit_block=1,
                last_block=1,
            )
        )
    with pilot.sessions() as session:
        inputs = read_inputs(session, merchant, LAST)
    assert (inputs.refunds, inputs.disputes) == (1, 1)
    result = score(inputs)
    assert result is not None
    refunds = next(c for c in result.components if c.name == "refunds_disputes")
    assert refunds.value == 1 - Fraction(5 * 3, inputs.payments)
    assert refunds.inputs == {"refunds": 1, "disputes": 1, "payments": inputs.payments}


def _rows(pilot: PilotBooks, day: date) -> dict[uuid.UUID, LdciDaily]:
    with pilot.sessions() as session:
        return {r.merchant_id: r for r in session.scalars(select(LdciDaily).where(LdciDaily.day == day))}


def test_compute_storesOnlyConsentingMerchants_idempotently(
    pilot: PilotBooks, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("MSC_DATABASE_URL", pilot.url)
    assert main(["compute", "--day", LAST.isoformat()]) == 0
    summary = {"day": LAST.isoformat(), "merchants": 2, "scored": 2, "no_history": 0}
    assert json.loads(capsys.readouterr().out) == summary
    rows = _rows(pilot, LAST)
    assert set(rows) == set(pilot.merchants[:2])
    with pilot.sessions() as session:
        for merchant_id, row in rows.items():
            expected = score(read_inputs(session, merchant_id, LAST))
            assert expected is not None and row.score == expected.score
            assert row.components == components_json(expected.components) and row.formula_version == "ldci-1"
            stored = json.loads(row.components)
            assert json.dumps(stored, sort_keys=True, separators=(",", ":")) == row.components  # canonical
            numbers = [c[k] for c in stored for k in ("weight_bp", "value_num", "value_den")]
            numbers += [v for c in stored for v in c["inputs"].values()]
            assert all(n is None or type(n) is int for n in numbers)  # integers only, no float
    assert main(["compute", "--day", LAST.isoformat()]) == 0  # again: the same rows, replaced
    capsys.readouterr()
    again = _rows(pilot, LAST)
    assert {m: (r.score, r.components) for m, r in again.items()} == {
        m: (r.score, r.components) for m, r in rows.items()
    }
    with pilot.sessions() as session:
        assert session.scalar(select(func.count()).select_from(LdciDaily)) == 2

    newcomer = add_merchant(pilot.sessions, name="Warung Baru")  # consents, has sold nothing
    with pilot.sessions.begin() as session:
        consent.grant(session, newcomer, "scoring", None, "portal_user:test", GRANTED)
        scoring = consent.active_consents(session, pilot.merchants[1], GRANTED + timedelta(days=1))
        consent.revoke(
            session, pilot.merchants[1], scoring[0].id, "portal_user:test", GRANTED + timedelta(days=1)
        )
    assert main(["compute", "--day", LAST.isoformat()]) == 0
    assert json.loads(capsys.readouterr().out) == {**summary, "scored": 1, "no_history": 1}
    final = _rows(pilot, LAST)
    assert set(final) == {pilot.merchants[0], newcomer}  # the revoked merchant's row is gone
    assert (final[newcomer].score, final[newcomer].components) == (None, "[]")
    with pilot.sessions() as session:
        assert session.scalar(select(func.count()).select_from(LdciDaily)) == 2
    with pytest.raises(SystemExit):  # not a day: refused by the command line, nothing written
        main(["compute", "--day", "2026-13-01"])
