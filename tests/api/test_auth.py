"""API keys: 401 without a valid key, 403 for the wrong role, 404 for another merchant's objects."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from sqlalchemy import select, update

from api.auth import hash_key
from api.models import ApiKey, Role
from tests.api.support import Harness, MakeApi, bearer, new_merchant, staff_key

QUOTE = {"sell_asset": "PI", "buy_asset": "IDR", "sell_amount": 10 * 10**7}


def test_missingKey_is401WithBearerChallenge(api: Harness) -> None:
    response = api.client.get("/v1/merchants/me")
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == "Bearer"
    assert response.json()["error"] == "unauthenticated"


def test_unknownOrMalformedKey_is401(api: Harness) -> None:
    for header in ("Bearer msc_not-a-key", "Basic abc", "Bearer ", "msc_x"):
        response = api.client.get("/v1/merchants/me", headers={"Authorization": header})
        assert response.status_code == 401, header
        assert response.json()["error"] == "unauthenticated"


def test_revokedKey_is401(api: Harness) -> None:
    _, key = new_merchant(api.db)
    assert api.client.get("/v1/merchants/me", headers=bearer(key)).status_code == 200
    with api.db.sessions.begin() as session:
        session.execute(
            update(ApiKey).where(ApiKey.key_hash == hash_key(key)).values(revoked_at=datetime.now(UTC))
        )
    assert api.client.get("/v1/merchants/me", headers=bearer(key)).status_code == 401


def test_wrongRole_is403(api: Harness) -> None:
    _, merchant_key = new_merchant(api.db)
    auditor = staff_key(api.db, Role.AUDITOR)
    operator = staff_key(api.db, Role.OPERATOR)
    body = {"name": "X", "kelurahan": "Y", "evm_address": "0x" + "ab" * 20, "pi_username": "x"}
    response = api.client.post("/v1/merchants", json=body, headers=bearer(merchant_key))
    assert response.status_code == 403
    assert response.json()["error"] == "forbidden"
    assert api.client.post("/v1/quotes", json=QUOTE, headers=bearer(auditor)).status_code == 403
    assert api.client.get("/v1/merchants/me", headers=bearer(operator)).status_code == 403
    assert api.client.get(f"/v1/merchants/{uuid.uuid4()}", headers=bearer(merchant_key)).status_code == 403


def test_otherMerchantsQuote_is404LikeAMissingOne(api: Harness) -> None:
    _, alice = new_merchant(api.db)
    _, bob = new_merchant(api.db)
    quote_id = api.client.post("/v1/quotes", json=QUOTE, headers=bearer(alice)).json()["id"]

    assert api.client.get(f"/v1/quotes/{quote_id}", headers=bearer(alice)).status_code == 200
    foreign = api.client.get(f"/v1/quotes/{quote_id}", headers=bearer(bob))
    missing = api.client.get(f"/v1/quotes/{uuid.uuid4()}", headers=bearer(bob))
    assert foreign.status_code == missing.status_code == 404
    assert foreign.json()["error"] == missing.json()["error"] == "quote_not_found"
    # Staff see every quote.
    for role in (Role.OPERATOR, Role.AUDITOR):
        response = api.client.get(f"/v1/quotes/{quote_id}", headers=bearer(staff_key(api.db, role)))
        assert response.status_code == 200


def test_keys_areStoredOnlyAsHashes(api: Harness) -> None:
    merchant_id, key = new_merchant(api.db)
    with api.db.sessions() as session:
        row = session.scalars(select(ApiKey).where(ApiKey.merchant_id == merchant_id)).one()
    assert row.key_hash == hash_key(key) != key
    assert key not in {row.key_hash, row.prefix} and key.startswith(row.prefix)
    assert row.role == "merchant"


def test_adminSecret_issuesStaffKeys_andIsRequired(make_api: MakeApi) -> None:
    secret = "s3cret-admin-token-for-tests"
    api = make_api(admin_secret=secret)
    refused = api.client.post("/v1/api-keys", json={"role": "operator"}, headers={"X-Admin-Secret": "nope"})
    assert refused.status_code == 401
    made = api.client.post("/v1/api-keys", json={"role": "operator"}, headers={"X-Admin-Secret": secret})
    assert made.status_code == 201
    assert made.json()["role"] == "operator"
    assert (
        api.client.get(f"/v1/merchants/{uuid.uuid4()}", headers=bearer(made.json()["api_key"])).status_code
        == 404
    )


def test_adminEndpoint_isDisabledWithoutASecret(api: Harness) -> None:
    response = api.client.post("/v1/api-keys", json={"role": "operator"}, headers={"X-Admin-Secret": ""})
    assert response.status_code == 401
