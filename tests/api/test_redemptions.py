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
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
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
from common.errors import MSCError
from settlement.ledger import chart
from settlement.ledger.repository import entries_for_reference
from settlement.ledger.service import balance_of
from settlement.payouts.models import Payout
from settlement.redemption.models import Redemption, RedemptionIntent
from settlement.redemption.service import RedemptionService
from settlement.workers import steps
from settlement.workers.context import WorkerContext
from settlement.workers.locking import StepLocks
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


# --------------------------------------------------------------------------- bounds and write-ahead

HORIZON = 86_400  # RedemptionService's default max_valid_seconds
INT64_MAX = 2**63 - 1
UINT256_MAX = 2**256 - 1


def chain_now(chain: Chain) -> int:
    return int(chain.w3.eth.get_block("latest")["timestamp"])


def signed_body(
    chain: Chain, m: Merchant, amount: int, valid_after: int, valid_before: int, nonce: bytes
) -> dict[str, Any]:
    """A request with these exact integers, signed by the merchant when they fit the typed data
    (uint256); an unsignable one carries a signature of clamped values (the API must refuse it)."""
    domain = msc_domain(chain.w3.eth.chain_id, chain.platform.msc.address)
    clamp = [min(max(v, 0), UINT256_MAX) for v in (amount, valid_after, valid_before)]
    typed = eip712_authorization(
        domain,
        "ReceiveWithAuthorization",
        m.signer.address,
        chain.redeemer.address,
        clamp[0],
        clamp[1],
        clamp[2],
        nonce,
    )
    return {
        "amount": amount,
        "bank_account": "BRI 0123-4567",
        "authorization": {
            "valid_after": valid_after,
            "valid_before": valid_before,
            "nonce": "0x" + nonce.hex(),
            "signature": m.signer.sign_typed_data(typed).signature.to_0x_hex(),
        },
    }


@dataclass(frozen=True)
class World:
    """What a redemption may change: the chain's side and the books' side."""

    supply: int
    merchant: int
    redeemer: int
    nonce_used: bool
    rows: tuple[int, int, int]


def world(app: Harness, chain: Chain, m: Merchant, nonce: bytes) -> World:
    with app.db.sessions() as session:
        rows = tuple(
            session.scalar(select(func.count()).select_from(model)) or 0
            for model in (Payout, Redemption, RedemptionIntent)
        )
    msc = chain.platform.msc
    return World(
        chain.supply(),
        chain.balance(m.signer.address),
        chain.balance(chain.redeemer.address),
        bool(msc.functions.authorizationState(m.signer.address, nonce).call()),
        rows,  # type: ignore[arg-type]
    )


def test_a_valid_before_beyond_int64_is_refused_before_the_relay(app: Harness, chain: Chain) -> None:
    """The reproduced bug: valid_before = 2**63 was relayed (MSC moved, nonce used) and then the
    insert failed (500, no records). Now it, and anything past the horizon, is a 4xx with no change."""
    m = new_merchant(app.db, chain)
    for valid_before in (2**63, INT64_MAX, chain_now(chain) + HORIZON + 3600):
        nonce = os.urandom(32)
        before = world(app, chain, m, nonce)
        answer = redeem(app, m, signed_body(chain, m, 10_000, 0, valid_before, nonce), key=nonce.hex())
        assert 400 <= answer.status_code < 500, answer.text
        assert world(app, chain, m, nonce) == before


_BOUNDARY_AMOUNTS = st.sampled_from([0, 1, FUNDS, FUNDS + 1, INT64_MAX, 2**63, UINT256_MAX, 2**256])
_VALID_AMOUNT = st.integers(min_value=1, max_value=FUNDS)
_AMOUNTS = st.one_of(_BOUNDARY_AMOUNTS, _VALID_AMOUNT)
_VALID_AFTER = st.sampled_from(["0", "now-60"])
_VALID_BEFORE = st.sampled_from(["now+120", "now+H-60"])
# Times relative to the chain's clock ("now"), plus absolute boundaries.
_AFTER = st.sampled_from(["0", "now-60", "now", "now+60", INT64_MAX, 2**63, 2**256])
_BEFORE = st.sampled_from(
    ["now-1", "now", "now+120", "now+H-60", "now+H+60", INT64_MAX, 2**63, UINT256_MAX, 2**256]
)


def _time(spec: int | str, now: int) -> int:
    if isinstance(spec, int):
        return spec
    value = spec.replace("now", str(now)).replace("H", str(HORIZON))
    return int(eval(value))


@settings(
    max_examples=int(os.environ.get("MSC_REDEMPTION_EXAMPLES", "12")) * (5 if os.environ.get("CI") else 1),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    case=st.one_of(
        # within bounds (mostly 201), one field at a boundary, or all anywhere
        st.tuples(_VALID_AMOUNT, _VALID_AFTER, _VALID_BEFORE),
        st.tuples(_BOUNDARY_AMOUNTS, _VALID_AFTER, _VALID_BEFORE),
        st.tuples(_VALID_AMOUNT, _AFTER, _VALID_BEFORE),
        st.tuples(_VALID_AMOUNT, _VALID_AFTER, _BEFORE),
        st.tuples(_AMOUNTS, _AFTER, _BEFORE),
    )
)
def test_every_redemption_request_is_a_clean_refusal_or_fully_booked(
    app: Harness, chain: Chain, case: tuple[int, int | str, int | str]
) -> None:
    """Property over the int64 / uint256 / time boundaries, through HTTP: a 4xx changes nothing
    (balances, nonce state, rows); a 201 moved exactly the amount and the books say so."""
    amount, after, before = case
    m = new_merchant(app.db, chain)
    now = chain_now(chain)
    nonce = os.urandom(32)
    request = signed_body(chain, m, amount, _time(after, now), _time(before, now), nonce)
    before_world = world(app, chain, m, nonce)

    answer = redeem(app, m, request, key=nonce.hex())

    assert answer.status_code < 500, answer.text
    event(f"status {answer.status_code}")
    after_world = world(app, chain, m, nonce)
    if answer.status_code >= 400:
        assert after_world == before_world, answer.text
        return
    assert answer.status_code == 201
    payout_id = answer.json()["id"]
    assert after_world.nonce_used
    assert after_world.merchant == before_world.merchant - amount
    assert after_world.supply == before_world.supply - amount  # burned
    assert after_world.redeemer == before_world.redeemer
    assert after_world.rows == tuple(n + 1 for n in before_world.rows)
    with app.db.sessions() as session:
        payout = session.get(Payout, uuid.UUID(payout_id))
        intent = session.scalars(
            select(RedemptionIntent).where(RedemptionIntent.payout_id == uuid.UUID(payout_id))
        ).one()
        assert payout is not None and payout.amount == amount and intent.status == "recorded"
        assert postings(session, payout_id)["redemption"] == {
            f"msc_merchant_balance:{m.id}": amount,
            "merchant_payouts_pending": -amount,
        }
    assert ledger_balanced(app.db.sessions)


def test_a_payout_lost_after_the_relay_is_finished_by_the_workers(
    app: Harness, chain: Chain, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The relay succeeds and the payout's insert fails: the answer is an error, the intent is
    kept, and the sweep's redemptions.finish records the payout and burns it; a retry of the same
    request then returns that payout."""
    m = new_merchant(app.db, chain)
    service: RedemptionService = app.client.app.state.redemptions  # type: ignore[attr-defined]
    supply = chain.supply()
    request = body(chain, m, 30_000)

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise MSCError("the database went away")

    monkeypatch.setattr(service.payouts, "request", broken)
    failed = redeem(app, m, request, key="lost")
    monkeypatch.undo()
    assert failed.status_code >= 400
    assert chain.balance(m.signer.address) == FUNDS - 30_000  # the MSC moved ...
    with app.db.sessions() as session:  # ... and the write-ahead intent says so
        intent = session.scalars(
            select(RedemptionIntent).where(RedemptionIntent.merchant_address == m.signer.address)
        ).one()
        assert (intent.status, intent.payout_id) == ("relayed", None)

    ctx = WorkerContext(sessions=app.db.sessions, locks=StepLocks(app.db.engine, 1.0), payouts=service)
    ctx.stale_seconds = 0
    swept = steps.sweep(ctx)
    finish = [f for f in swept.follow_ups if f.name == steps.FINISH_REDEMPTION]
    assert [f.args for f in finish] == [(str(intent.id),)]
    done = steps.finish_redemption(ctx, str(intent.id))
    assert [f.name for f in done.follow_ups] == [steps.PAYOUT]
    steps.process_payout(ctx, *done.follow_ups[0].args)
    assert steps.finish_redemption(ctx, str(intent.id)).follow_ups[0] == done.follow_ups[0]  # once

    assert chain.supply() == supply - 30_000 and chain.balance(chain.redeemer.address) == 0
    retry = redeem(app, m, request, key="lost")
    assert retry.status_code == 201, retry.text
    assert retry.json()["id"] == done.follow_ups[0].args[0]
    with app.db.sessions() as session:
        assert (
            session.scalar(select(func.count()).select_from(Payout).where(Payout.merchant_id == str(m.id)))
            == 1
        )
    assert ledger_balanced(app.db.sessions)
