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
    body = {"name": "X", "kelurahan": "Taman", "evm_address": "0x" + "ab" * 20, "pi_username": "x"}
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


def _key_id(api: Harness, secret: str) -> str:
    with api.db.sessions() as session:
        return str(session.scalars(select(ApiKey.id).where(ApiKey.key_hash == hash_key(secret))).one())


def _me(api: Harness, secret: str) -> int:
    return api.client.get("/v1/merchants/me", headers=bearer(secret)).status_code


def test_merchantRevokesItsOwnKey_refusedAtOnce_otherMerchantsKeysAre404(api: Harness) -> None:
    _, key = new_merchant(api.db)
    _, other = new_merchant(api.db)
    assert _me(api, key) == 200
    # Another merchant's key (and a staff key) are not a merchant's to manage: 404, nothing changes.
    for victim in (other, staff_key(api.db, Role.OPERATOR)):
        for action in ("revoke", "rotate"):
            refused = api.client.post(
                f"/v1/api-keys/{_key_id(api, victim)}/{action}", json={}, headers=bearer(key)
            )
            assert (refused.status_code, refused.json()["error"]) == (404, "api_key_not_found"), refused.text
    assert _me(api, other) == 200
    revoked = api.client.post(f"/v1/api-keys/{_key_id(api, key)}/revoke", headers=bearer(key))
    assert revoked.status_code == 200, revoked.text
    assert _me(api, key) == 401  # the very next request: no cache serves it
    assert api.client.post(f"/v1/api-keys/{_key_id(api, key)}/revoke", headers=bearer(key)).status_code == 401


def test_operatorRevokesAndRotatesAnyKey_rotationKeepsRoleAndMerchant(api: Harness) -> None:
    merchant_id, key = new_merchant(api.db)
    operator = staff_key(api.db, Role.OPERATOR)
    auditor = staff_key(api.db, Role.AUDITOR)
    assert (
        api.client.post(f"/v1/api-keys/{_key_id(api, key)}/revoke", headers=bearer(auditor)).status_code
        == 403
    )

    rotated = api.client.post(
        f"/v1/api-keys/{_key_id(api, key)}/rotate", json={"grace_period_s": 0}, headers=bearer(operator)
    )
    assert rotated.status_code == 201, rotated.text
    body = rotated.json()
    assert (body["role"], body["merchant_id"], body["previous_key_id"]) == (
        "merchant",
        str(merchant_id),
        _key_id(api, key),
    )
    assert _me(api, key) == 401 and _me(api, body["api_key"]) == 200
    again = api.client.post(f"/v1/api-keys/{_key_id(api, key)}/rotate", json={}, headers=bearer(operator))
    assert (again.status_code, again.json()["error"]) == (409, "api_key_revoked")

    revoked = api.client.post(f"/v1/api-keys/{body['id']}/revoke", headers=bearer(operator))
    assert revoked.status_code == 200 and _me(api, body["api_key"]) == 401
    missing = api.client.post(f"/v1/api-keys/{uuid.uuid4()}/revoke", headers=bearer(operator))
    assert missing.status_code == 404


def test_merchantRotatesItsKeyWithAGracePeriod_oldKeyWorksUntilThenOrUntilRevoked(api: Harness) -> None:
    _, key = new_merchant(api.db)
    rotated = api.client.post(
        f"/v1/api-keys/{_key_id(api, key)}/rotate", json={"grace_period_s": 3600}, headers=bearer(key)
    )
    assert rotated.status_code == 201, rotated.text
    new = rotated.json()["api_key"]
    assert _me(api, key) == 200 and _me(api, new) == 200  # both work during the grace period
    bad = api.client.post(
        f"/v1/api-keys/{_key_id(api, new)}/rotate", json={"grace_period_s": -1}, headers=bearer(new)
    )
    assert bad.status_code == 422
    # The grace period ends early when the old key is revoked outright.
    assert api.client.post(f"/v1/api-keys/{_key_id(api, key)}/revoke", headers=bearer(new)).status_code == 200
    assert _me(api, key) == 401 and _me(api, new) == 200


def test_cli_issuesTheFirstOperatorKey_withoutAnySharedSecret(api: Harness, capsys: object) -> None:
    """``python -m api keys issue --role operator`` writes the key's hash and prints the key once."""
    import json

    import pytest

    from api.__main__ import main

    capture: pytest.CaptureFixture[str] = capsys  # type: ignore[assignment]
    assert main(["keys", "issue", "--role", "operator", "--database-url", api.db.url]) == 0
    printed = json.loads(capture.readouterr().out.strip().splitlines()[-1])
    assert printed["role"] == "operator" and printed["api_key"].startswith("msc_")
    with api.db.sessions() as session:
        row = session.get(ApiKey, uuid.UUID(printed["id"]))
        assert row is not None and row.key_hash == hash_key(printed["api_key"]) and row.role == "operator"
    no_secret = api.client.post("/v1/api-keys", json={"role": "auditor"}, headers={"X-Admin-Secret": ""})
    assert no_secret.status_code == 401  # no shared secret is configured, none was needed
    assert api.client.get("/v1/payments", headers=bearer(printed["api_key"])).status_code == 200
    assert main(["keys", "revoke", printed["id"], "--database-url", api.db.url]) == 0
    assert api.client.get("/v1/payments", headers=bearer(printed["api_key"])).status_code == 401
