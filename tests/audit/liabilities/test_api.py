"""``/v1/liabilities/{period}`` (public) and a merchant's own proof (SQLite and PostgreSQL)."""

from __future__ import annotations

import uuid

import pytest

from api.models import Role
from audit.liabilities.models import LiabilitySnapshot
from audit.liabilities.service import take_snapshot
from audit.liabilities.tree import Sibling, verify_proof
from common.sql.helpers import utcnow
from settlement.ledger import chart
from settlement.ledger.models import Currency
from settlement.ledger.service import EntryDraft, credit, debit, post
from tests.api.support import Harness, bearer, new_merchant, staff_key

SECRET = "liabilities-api-test-secret-0123456789ab"


def _period() -> str:
    return f"2{uuid.uuid4().int % 900 + 100:03d}-0{uuid.uuid4().int % 9 + 1}"


def _owe(harness: Harness, merchant: str, amount: int) -> None:
    with harness.db.sessions.begin() as s:
        post(
            s,
            EntryDraft(
                idempotency_key=f"test:{uuid.uuid4()}",
                currency=Currency.IDR,
                kind="test",
                legs=(
                    debit(chart.FX_CONVERSION_IDR, amount),
                    credit(chart.idr_owed_to_merchant(merchant), amount),
                ),
            ),
        )


def test_periodIsPublic_andTheMerchantGetsOnlyItsOwnVerifiableProof(
    api: Harness,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("MSC_LIABILITIES_SALT_SECRET", SECRET)
    merchant, key = new_merchant(api.db)
    other, other_key = new_merchant(api.db)
    _owe(api, str(merchant), 12_345)
    period = _period()
    with api.db.sessions.begin() as s:
        snapshot = take_snapshot(s, period, SECRET.encode(), block_number=77)
        snapshot.status, snapshot.tx_hash = "confirmed", "0x" + "11" * 32

    public = api.client.get(f"/v1/liabilities/{period}")
    assert public.status_code == 200, public.text
    body = public.json()
    assert (body["block_number"], body["published"], body["tx_hash"]) == (77, True, "0x" + "11" * 32)
    assert body["root"] == snapshot.root and int(body["total"]) >= 12_345

    mine = api.client.get(f"/v1/merchants/me/liabilities/{period}/proof", headers=bearer(key))
    assert mine.status_code == 200, mine.text
    proof = mine.json()
    assert proof["merchant_id"] == str(merchant)
    assert proof["amounts"] == {"credited_not_minted": 12_345, "payouts_unpaid": 0, "refunds_owed": 0}
    siblings = [Sibling(bytes.fromhex(s["hash"][2:]), int(s["sum"]), s["side"]) for s in proof["siblings"]]
    assert verify_proof(
        bytes.fromhex(proof["leaf"]["hash"][2:]),
        int(proof["leaf"]["sum"]),
        siblings,
        bytes.fromhex(body["root"][2:]),
        int(body["total"]),
    )
    assert SECRET not in mine.text

    # A merchant owed nothing then has no leaf; there is no way to ask for another merchant's.
    assert (
        api.client.get(f"/v1/merchants/me/liabilities/{period}/proof", headers=bearer(other_key)).status_code
        == 404
    )
    assert api.client.get(f"/v1/merchants/me/liabilities/{period}/proof").status_code == 401
    operator = staff_key(api.db, Role.OPERATOR)
    assert (
        api.client.get(f"/v1/merchants/me/liabilities/{period}/proof", headers=bearer(operator)).status_code
        == 403
    )
    assert other  # the second merchant exists


def test_unknownAndMalformedPeriods(api: Harness) -> None:
    assert api.client.get("/v1/liabilities/1999-01").status_code == 404
    assert api.client.get("/v1/liabilities/2026-13").status_code == 422


def test_unpublishedSnapshotShowsNoTransaction(api: Harness) -> None:
    period = _period()
    with api.db.sessions.begin() as s:
        s.add(
            LiabilitySnapshot(
                period=period,
                root="0x" + "22" * 32,
                total=0,
                block_number=5,
                ledger_entry_id=0,
                leaf_count=0,
                status="signed",
                tx_hash="0x" + "33" * 32,
                raw_tx="0x00",
                created_at=utcnow(),
                updated_at=utcnow(),
            )
        )
    body = api.client.get(f"/v1/liabilities/{period}").json()
    assert (body["published"], body["tx_hash"]) == (False, None)
