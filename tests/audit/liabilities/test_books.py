"""Per-merchant liabilities read from the books at a cut, and the stored snapshot and proofs
(SQLite and PostgreSQL)."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator

import pytest
from sqlalchemy import select

from audit.liabilities.books import MerchantLiabilities, ledger_cut, liabilities_at
from audit.liabilities.models import LiabilityLeaf, LiabilitySnapshot
from audit.liabilities.service import merchant_proof, stored_tree, take_snapshot
from audit.liabilities.tree import verify_proof
from common.errors import ConflictError, NotFoundError
from common.sql.helpers import utcnow
from settlement.ledger import chart
from settlement.ledger.flows import record_payout_paid, record_redemption
from settlement.ledger.models import Currency
from settlement.ledger.service import EntryDraft, Leg, credit, debit, post
from settlement.payouts.models import Payout
from tests.settlement.ledger.support import BACKENDS, Clock, Db, _open, make_payment, unique

SECRET = b"liabilities-test-secret-0123456789abcdef"


@pytest.fixture(scope="module", params=BACKENDS)
def db(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Db]:
    """A migrated database per backend, fresh for this module (the cut reads every merchant)."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('liabilities') / 'l.sqlite3'}"
    else:
        factory: Callable[[], str] = request.getfixturevalue("pg_schema_factory")
        url = factory()
    database = _open(str(request.param), url)
    yield database
    database.engine.dispose()


def _entry(key: str, *legs: Leg, reference: str | None = None) -> EntryDraft:
    return EntryDraft(
        idempotency_key=key,
        currency=Currency.IDR,
        kind="test",
        legs=tuple(legs),
        reference=reference,
    )


def _payout(merchant: str, amount: int, fee: int) -> Payout:
    now = utcnow()
    return Payout(
        id=uuid.uuid4(),
        idempotency_key=unique("po"),
        merchant_id=merchant,
        amount=amount,
        fee=fee,
        bank_account="bank:test",
        status="processing",
        created_at=now,
        updated_at=now,
    )


def test_liabilitiesPerMerchant_areExactAndCutAtTheLedgerEntry(db: Db) -> None:
    a, b = unique("ma"), unique("mb")
    clock = Clock()
    with db.sessions.begin() as s:
        post(
            s,
            _entry(
                unique("k"),
                debit(chart.FX_CONVERSION_IDR, 50_000),
                credit(chart.idr_owed_to_merchant(a), 50_000),
            ),
        )
        post(
            s,
            _entry(
                unique("k"),
                debit(chart.idr_owed_to_merchant(a), 20_000),
                credit(chart.msc_minted_to_escrow(a), 20_000),
            ),
        )
        paid, unpaid = _payout(a, 10_000, 100), _payout(a, 7_000, 0)
        s.add_all([paid, unpaid])
        s.flush()
        for payout in (paid, unpaid):
            post(
                s,
                _entry(
                    unique("k"),
                    debit(chart.GUARANTEE_FUND_CONTRIBUTIONS, payout.amount),
                    credit(chart.msc_merchant_balance(a), payout.amount),
                ),
            )
            record_redemption(s, payout)
        record_payout_paid(s, paid)
        payment = make_payment(s, clock, merchant_id=b)
        s.flush()
        post(
            s,
            _entry(
                unique("k"),
                debit(chart.msc_minted_to_escrow(b), 1_234),
                credit(chart.CUSTOMER_REFUNDS_OWED, 1_234),
                reference=str(payment.id),
            ),
        )
        cut = ledger_cut(s)
        post(
            s,
            _entry(
                unique("k"), debit(chart.FX_CONVERSION_IDR, 999), credit(chart.idr_owed_to_merchant(b), 999)
            ),
        )

    with db.sessions() as s:
        at_cut = {row.merchant_id: row for row in liabilities_at(s, cut)}
        now = {row.merchant_id: row for row in liabilities_at(s, ledger_cut(s))}
    assert at_cut[a] == MerchantLiabilities(a, 30_000, 7_000, 0)
    assert at_cut[b] == MerchantLiabilities(b, 0, 0, 1_234)
    assert now[b] == MerchantLiabilities(b, 999, 0, 1_234)
    assert now[a].total == 37_000


def test_snapshotStoresEveryLeaf_andServesVerifiableProofs(db: Db) -> None:
    merchant = unique("mc")
    with db.sessions.begin() as s:
        post(
            s,
            _entry(
                unique("k"),
                debit(chart.FX_CONVERSION_IDR, 4_321),
                credit(chart.idr_owed_to_merchant(merchant), 4_321),
            ),
        )
    period = f"20{uuid.uuid4().int % 70 + 30}-07"
    with db.sessions.begin() as s:
        expected = liabilities_at(s, ledger_cut(s))
        snapshot = take_snapshot(s, period, SECRET, block_number=42)
        snapshot_id = snapshot.id
    with db.sessions.begin() as s:
        again = take_snapshot(s, period, SECRET, block_number=99)
        assert (again.id, again.block_number) == (snapshot_id, 42)  # never re-cut
        snap = s.get_one(LiabilitySnapshot, snapshot_id)
        assert snap.total == sum(row.total for row in expected) == stored_tree(s, snap).total
        assert snap.leaf_count == len(expected)
        proof = merchant_proof(s, period, merchant, SECRET)
    assert proof.amounts == {"credited_not_minted": 4_321, "payouts_unpaid": 0, "refunds_owed": 0}
    assert verify_proof(proof.leaf_hash, proof.leaf_sum, proof.siblings, proof.root, proof.total)
    assert "0x" + proof.root.hex() == snap.root and not proof.published
    with db.sessions() as s, pytest.raises(NotFoundError):
        merchant_proof(s, period, unique("nobody"), SECRET)
    with db.sessions() as s, pytest.raises(ConflictError):
        merchant_proof(s, period, merchant, b"another-secret-0123456789abcdefghij")
    with db.sessions.begin() as s:
        leaf = s.scalars(select(LiabilityLeaf).where(LiabilityLeaf.snapshot_id == snapshot_id).limit(1)).one()
        leaf.leaf_sum += 1
    with db.sessions() as s, pytest.raises(ConflictError):
        stored_tree(s, s.get_one(LiabilitySnapshot, snapshot_id))
