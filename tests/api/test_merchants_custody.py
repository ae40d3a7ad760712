"""Custodial onboarding and owner invitations through the API, on SQLite and PostgreSQL.

An operator onboards a merchant without an EVM wallet (``custody: true``): the platform creates its
key in the same transaction and the merchant's address is the key's; the key itself is never in
the answer. Addresses that would lose or lock MSC (the zero address, the platform's contracts) are
refused with a clear 422 and nothing is written. The operator invites the owner and gets the
invitation link once.
"""

from __future__ import annotations

import os
import uuid
from typing import Any

import pytest
from eth_account import Account
from sqlalchemy import func, select

from accounts.models import Invitation, InvitationStatus
from api.models import Role
from chain.deployments import DeployedContract, Deployment, deployment_path, write_deployment
from custody.keystore import EnvelopeKeyManager
from custody.models import CustodyKey
from custody.settings import MasterKeyRing
from tests.api.support import Harness, MakeApi, bearer, new_merchant, staff_key

MSC = Account.create().address
ESCROW = Account.create().address


@pytest.fixture
def app(make_api: MakeApi) -> Harness:
    """An app with a custody key store and a deployment file naming the MSC token and the escrow."""
    harness = make_api()
    state = harness.client.app.state  # type: ignore[attr-defined]
    state.custody_keys = EnvelopeKeyManager(MasterKeyRing.of(os.urandom(32)))
    contracts = {
        name: DeployedContract(name, address, 1, "0x" + "11" * 32)
        for name, address in (("MadiunStableCoin", MSC), ("MerchantEscrow", ESCROW))
    }
    write_deployment(
        deployment_path(harness.deployments_dir, "development"),
        Deployment("development", 31337, "0x" + "22" * 32, contracts),
    )
    return harness


def onboard(app: Harness, body: dict[str, Any], key: str | None = None) -> Any:
    operator = staff_key(app.db, Role.OPERATOR)
    headers = bearer(operator) | ({"Idempotency-Key": key} if key else {})
    return app.client.post("/v1/merchants", json=body, headers=headers)


def merchant_body(**fields: Any) -> dict[str, Any]:
    return {
        "name": "Warung Bu Sri",
        "kelurahan": "Taman",
        "pi_username": f"pi_{uuid.uuid4().hex[:12]}",
    } | fields


def key_rows(app: Harness) -> int:
    with app.db.sessions() as session:
        return session.scalar(select(func.count()).select_from(CustodyKey)) or 0


def test_a_custodial_merchant_gets_the_platform_wallet_address_in_the_same_transaction(app: Harness) -> None:
    response = onboard(app, merchant_body(custody=True))
    assert response.status_code == 201, response.text
    merchant = response.json()["merchant"]
    with app.db.sessions() as session:
        key = session.scalars(
            select(CustodyKey).where(CustodyKey.merchant_id == uuid.UUID(merchant["id"]))
        ).one()
    assert merchant["evm_address"] == key.address
    assert key.status == "current"
    # the answer carries the address and the API key, never key material
    assert "private" not in response.text.lower() and key.encrypted_key.hex() not in response.text


def test_a_custodial_onboarding_replayed_with_its_key_creates_one_wallet(app: Harness) -> None:
    body = merchant_body(custody=True)
    before = key_rows(app)
    first = onboard(app, body, key="onboard-1")
    operator_replay = first.request.headers["Authorization"]
    second = app.client.post(
        "/v1/merchants", json=body, headers={"Authorization": operator_replay, "Idempotency-Key": "onboard-1"}
    )
    assert (first.status_code, second.status_code) == (201, 201)
    assert second.json()["merchant"] == first.json()["merchant"] and second.json()["api_key"] is None
    assert key_rows(app) == before + 1


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (merchant_body(), "evm_address or custody"),
        (merchant_body(custody=True, evm_address=Account.create().address), "not both"),
    ],
)
def test_exactly_one_of_an_own_address_and_custody_is_required(
    app: Harness, body: dict[str, Any], field: str
) -> None:
    before = (app.db.counts(), key_rows(app))
    response = onboard(app, body)
    assert response.status_code == 422
    assert "evm_address" in response.text
    assert (app.db.counts(), key_rows(app)) == (
        before[0] | {"api_keys": before[0]["api_keys"] + 1},
        before[1],
    )


@pytest.mark.parametrize(
    ("address", "why"),
    [("0x0000000000000000000000000000000000000000", "zero address"), (MSC, "platform"), (ESCROW, "platform")],
)
def test_the_zero_address_and_platform_contracts_are_refused(app: Harness, address: str, why: str) -> None:
    operator = staff_key(app.db, Role.OPERATOR)
    before = app.db.counts()
    response = app.client.post(
        "/v1/merchants", json=merchant_body(evm_address=address), headers=bearer(operator)
    )
    assert response.status_code == 422, response.text
    body = response.json()
    assert body["error"] == "merchant_address_refused" and why in body["message"]
    assert app.db.counts() == before


def test_custody_without_a_master_key_is_refused_and_writes_nothing(
    app: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    state = app.client.app.state  # type: ignore[attr-defined]
    del state.custody_keys
    monkeypatch.delenv("MSC_CUSTODY_MASTER_KEY", raising=False)
    operator = staff_key(app.db, Role.OPERATOR)
    before = (app.db.counts(), key_rows(app))
    response = app.client.post("/v1/merchants", json=merchant_body(custody=True), headers=bearer(operator))
    assert response.status_code == 409 and response.json()["error"] == "custody_unavailable"
    assert (app.db.counts(), key_rows(app)) == before


def test_the_operator_invites_the_owner_and_gets_the_link_once(app: Harness) -> None:
    merchant_id, merchant_key = new_merchant(app.db)
    operator = staff_key(app.db, Role.OPERATOR)
    path = f"/v1/merchants/{merchant_id}/owner-invitations"
    response = app.client.post(path, json={"email": "Sri@Example.id"}, headers=bearer(operator))
    assert response.status_code == 201, response.text
    link = response.json()["link"]
    base, token = link.rsplit("/portal/invite/", 1)
    assert base == "http://testserver" and len(token) >= 32
    with app.db.sessions() as session:
        invitation = session.get(Invitation, uuid.UUID(response.json()["invitation_id"]))
        assert invitation is not None
        assert (invitation.merchant_id, invitation.email, invitation.role) == (
            merchant_id,
            "sri@example.id",
            "owner",
        )
        assert invitation.status == InvitationStatus.PENDING and token not in invitation.token_hash
    # merchants cannot invite owners; an unknown merchant is 404
    assert (
        app.client.post(path, json={"email": "x@example.id"}, headers=bearer(merchant_key)).status_code == 403
    )
    unknown = app.client.post(
        f"/v1/merchants/{uuid.uuid4()}/owner-invitations",
        json={"email": "x@example.id"},
        headers=bearer(operator),
    )
    assert unknown.status_code == 404
