"""Redemption through the API on a real anvil: the merchant signs an EIP-3009 authorization, the
API relays it, the MSC is burned, a payout is created and the operator records the bank's
answer; bad input is a clear 4xx and changes nothing."""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from eth_account import Account
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from web3 import Web3

from api.merchants import service as merchants
from api.merchants.schemas import MerchantCreate
from api.models import Role
from chain.eip712 import authorization as eip712_authorization
from chain.eip712 import msc_domain
from chain.localnode import AnvilNode
from chain.signer import Signer
from settlement.ledger import chart
from settlement.ledger.repository import entries_for_reference
from settlement.ledger.service import balance_of
from settlement.payouts.models import Payout
from settlement.redemption.models import Redemption
from settlement.redemption.service import RedemptionService
from tests.api.support import Db, Harness, MakeApi, bearer, staff_key
from tests.settlement.minting.support import Chain, deploy, ledger_balanced

ANVIL_PORT = 8713
FUNDS = 500_000  # Rp 5.000,00


@pytest.fixture(scope="module")
def w3() -> Iterator[Web3]:
    with AnvilNode(port=ANVIL_PORT) as node:
        yield Web3(Web3.HTTPProvider(node.url))


@pytest.fixture(scope="module")
def chain(w3: Web3, tmp_path_factory: pytest.TempPathFactory) -> Chain:
    return deploy(w3, tmp_path_factory.mktemp("redemption-chain"))


@dataclass
class Merchant:
    id: uuid.UUID
    key: str
    signer: Signer


@pytest.fixture
def app(make_api: MakeApi, chain: Chain) -> Harness:
    harness = make_api()
    state = harness.client.app.state  # type: ignore[attr-defined]
    state.redemptions = RedemptionService(state.sessions, chain.platform, chain.redeemer)
    return harness


def new_merchant(db: Db, chain: Chain) -> Merchant:
    """A merchant with a fresh key pair, holding FUNDS of MSC."""
    signer = Signer(Account.create())
    data = MerchantCreate(
        name="Warung Redeem",
        kelurahan="Taman",
        evm_address=signer.address,
        pi_username=f"pi_{uuid.uuid4().hex[:12]}",
    )
    with db.sessions.begin() as session:
        merchant, key = merchants.create(session, data)
    chain.sender(chain.owner).transact(chain.platform.msc.functions.mint(signer.address, FUNDS))
    return Merchant(merchant.id, key.secret, signer)


def authorization(chain: Chain, signer: Signer, amount: int, *, by: Signer | None = None) -> dict[str, Any]:
    nonce = os.urandom(32)
    valid_before = int(time.time()) + 3600
    domain = msc_domain(chain.w3.eth.chain_id, chain.platform.msc.address)  # as a wallet builds it
    typed = eip712_authorization(
        domain,
        "ReceiveWithAuthorization",
        signer.address,
        chain.redeemer.address,
        amount,
        0,
        valid_before,
        nonce,
    )
    signature = (by or signer).sign_typed_data(typed).signature
    return {
        "valid_after": 0,
        "valid_before": valid_before,
        "nonce": "0x" + nonce.hex(),
        "signature": signature.to_0x_hex(),
    }


def redeem(app: Harness, m: Merchant, body: dict[str, Any], key: str | None = "k-1") -> Any:
    headers = bearer(m.key) | ({"Idempotency-Key": key} if key else {})
    return app.client.post("/v1/redemptions", json=body, headers=headers)


def body(chain: Chain, m: Merchant, amount: int) -> dict[str, Any]:
    return {
        "amount": amount,
        "bank_account": "BRI 0123-4567",
        "authorization": authorization(chain, m.signer, amount),
    }


def postings(session: Session, payout_id: str) -> dict[str, dict[str, int]]:
    """The payout's ledger entries: kind -> {account: signed amount (debit > 0)}."""
    return {
        entry.kind: {p.account.code: p.amount for p in entry.postings}
        for entry in entries_for_reference(session, payout_id)
    }


def snapshot(app: Harness, chain: Chain, m: Merchant) -> tuple[int, int, int, int]:
    with app.db.sessions() as session:
        payouts = session.scalar(select(func.count()).select_from(Payout)) or 0
        redemptions = session.scalar(select(func.count()).select_from(Redemption)) or 0
    return chain.supply(), chain.balance(m.signer.address), payouts, redemptions


def test_a_redemption_burns_exactly_the_amount_and_the_operator_marks_it_paid(
    app: Harness, chain: Chain
) -> None:
    m = new_merchant(app.db, chain)
    supply = chain.supply()
    request = body(chain, m, 120_000)

    created = redeem(app, m, request)

    assert created.status_code == 201, created.text
    payout_id = created.json()["id"]
    assert created.json()["status"] == "requested" and created.json()["redeemer"] == chain.redeemer.address
    assert chain.supply() == supply - 120_000  # burned: supply drops by exactly the amount
    assert chain.balance(m.signer.address) == FUNDS - 120_000
    assert chain.balance(chain.redeemer.address) == 0
    detail = app.client.get(f"/v1/redemptions/{payout_id}", headers=bearer(m.key)).json()
    assert detail["status"] == "processing" and detail["burn_tx_hash"]
    assert [h["to_status"] for h in detail["history"]] == ["processing"]

    replay = redeem(app, m, request)  # a retry replays, redeems nothing more
    assert replay.status_code == 201 and replay.headers.get("Idempotent-Replayed") == "true"
    assert replay.json()["id"] == payout_id and chain.supply() == supply - 120_000

    operator = bearer(staff_key(app.db, Role.OPERATOR))
    paid = app.client.post(
        f"/v1/redemptions/{payout_id}/paid", json={"bank_reference": "BRI-TRX-1"}, headers=operator
    )
    assert paid.status_code == 200, paid.text
    assert (paid.json()["status"], paid.json()["bank_reference"]) == ("paid", "BRI-TRX-1")
    again = app.client.post(
        f"/v1/redemptions/{payout_id}/paid", json={"bank_reference": "BRI-TRX-1"}, headers=operator
    )
    assert again.status_code == 409  # paid once
    with app.db.sessions() as session:
        assert balance_of(session, chart.msc_merchant_balance(str(m.id))) == -120_000  # redeemed from its MSC
        assert postings(session, payout_id) == {
            "redemption": {f"msc_merchant_balance:{m.id}": 120_000, "merchant_payouts_pending": -120_000},
            "payout_paid": {"merchant_payouts_pending": 120_000, "bank_payouts": -120_000},
        }
    assert ledger_balanced(app.db.sessions)


def test_a_failed_payout_reversed_returns_the_merchants_claim(app: Harness, chain: Chain) -> None:
    m = new_merchant(app.db, chain)
    supply = chain.supply()
    payout_id = redeem(app, m, body(chain, m, 200_000)).json()["id"]
    operator = bearer(staff_key(app.db, Role.OPERATOR))

    failed = app.client.post(
        f"/v1/redemptions/{payout_id}/failed", json={"reason": "account closed"}, headers=operator
    )
    assert (failed.status_code, failed.json()["status"]) == (200, "failed")
    reversed_ = app.client.post(f"/v1/redemptions/{payout_id}/reversed", headers=operator)

    assert (reversed_.status_code, reversed_.json()["status"]) == (200, "reversed"), reversed_.text
    assert reversed_.json()["reissue_tx_hash"]
    assert chain.balance(m.signer.address) == FUNDS and chain.supply() == supply  # claim returned
    assert (
        app.client.post(f"/v1/redemptions/{payout_id}/reversed", headers=operator).json()["status"]
        == "reversed"
    )
    assert chain.supply() == supply  # re-issued once
    with app.db.sessions() as session:
        assert balance_of(session, chart.msc_merchant_balance(str(m.id))) == 0
        assert postings(session, payout_id) == {
            "redemption": {f"msc_merchant_balance:{m.id}": 200_000, "merchant_payouts_pending": -200_000},
            "payout_failed": {"merchant_payouts_pending": 200_000, "payouts_failed": -200_000},
            "payout_reversed": {"payouts_failed": 200_000, f"msc_merchant_balance:{m.id}": -200_000},
        }
    assert ledger_balanced(app.db.sessions)


def test_bad_requests_are_clear_4xx_and_change_nothing(app: Harness, chain: Chain) -> None:
    m, other = new_merchant(app.db, chain), new_merchant(app.db, chain)
    first = redeem(app, m, body(chain, m, 10_000), key="first")
    assert first.status_code == 201
    before = snapshot(app, chain, m)

    forged = {
        "amount": 10_000,
        "bank_account": "x",
        "authorization": authorization(chain, m.signer, 10_000, by=other.signer),
    }
    cases = [
        (redeem(app, m, forged, key="forged"), 422, "invalid_authorization"),
        (redeem(app, m, body(chain, m, FUNDS * 2), key="too-much"), 422, "insufficient_balance"),
        (redeem(app, m, body(chain, m, 20_000), key="first"), 409, "idempotency_key_reused"),
        (redeem(app, m, body(chain, m, 10_000), key=None), 400, "idempotency_key_required"),
        (
            app.client.get(f"/v1/redemptions/{first.json()['id']}", headers=bearer(other.key)),
            404,
            "payout_not_found",
        ),
        (
            app.client.post(
                f"/v1/redemptions/{first.json()['id']}/paid",
                json={"bank_reference": "r"},
                headers=bearer(m.key),
            ),
            403,
            "forbidden",
        ),
    ]
    garbage = body(chain, m, 10_000)
    garbage["authorization"]["signature"] = "0x" + "11" * 65
    cases.append((redeem(app, m, garbage, key="garbage"), 422, "invalid_authorization"))
    mismatch = body(chain, m, 10_000)
    mismatch["amount"] = 9_999  # signed for another amount
    cases.append((redeem(app, m, mismatch, key="mismatch"), 422, "invalid_authorization"))

    for response, status, code in cases:
        assert (response.status_code, response.json()["error"]) == (status, code), response.text
    assert snapshot(app, chain, m) == before
