"""A merchant's consents over the API (SQLite and PostgreSQL): grant with Idempotency-Key, sharing
needs scoring (409), revoke (scoring takes sharing with it), another merchant's consent is 404,
the log newest first; the lenders a merchant may choose from; who may issue lender keys."""

from __future__ import annotations

import json
import uuid

from sqlalchemy import select

from api.__main__ import main
from api.models import ApiKey, Role
from tests.api.credit.support import lender_key
from tests.api.support import MakeApi, bearer, new_merchant, staff_key

CONSENTS = "/v1/merchants/me/consents"


def test_grant_list_and_revoke_with_idempotency_and_the_log(make_api: MakeApi) -> None:
    api = make_api()
    client, db = api.client, api.db
    _merchant, secret = new_merchant(db)
    me = bearer(secret)
    lender_id, _ = lender_key(db, f"Bank Jatim {uuid.uuid4().hex[:6]}")

    early = client.post(CONSENTS, json={"purpose": "sharing", "lender_id": str(lender_id)}, headers=me)
    assert early.status_code == 409 and early.json()["error"] == "scoring_consent_required"

    headers = {**me, "Idempotency-Key": "grant-scoring-1"}
    scoring = client.post(CONSENTS, json={"purpose": "scoring"}, headers=headers)
    replay = client.post(CONSENTS, json={"purpose": "scoring"}, headers=headers)
    assert scoring.status_code == replay.status_code == 201
    assert replay.json() == scoring.json() and replay.headers.get("Idempotent-Replayed") == "true"
    twice = client.post(CONSENTS, json={"purpose": "scoring"}, headers=me)  # no key: still one grant
    assert twice.json()["id"] == scoring.json()["id"]
    sharing = client.post(CONSENTS, json={"purpose": "sharing", "lender_id": str(lender_id)}, headers=me)
    assert sharing.status_code == 201 and sharing.json()["lender_id"] == str(lender_id)

    for bad in (
        {"purpose": "sharing"},
        {"purpose": "scoring", "lender_id": str(lender_id)},
        {"purpose": "sharing", "lender_id": str(uuid.uuid4())},
        {"purpose": "marketing"},
        {"purpose": "scoring", "extra": 1},
    ):
        assert client.post(CONSENTS, json=bad, headers=me).status_code == 422, bad

    overview = client.get(CONSENTS, headers=me).json()
    assert [c["purpose"] for c in overview["active"]] == ["scoring", "sharing"]
    assert [(e["kind"], e["purpose"]) for e in overview["events"]] == [
        ("grant", "sharing"),
        ("grant", "scoring"),
    ]
    assert overview["events"][0]["actor"].startswith("api_key:")

    revoked = client.delete(f"{CONSENTS}/{scoring.json()['id']}", headers=me)
    assert revoked.status_code == 200
    assert revoked.json()["consent"]["revoked_at"] is not None
    assert [c["id"] for c in revoked.json()["also_revoked"]] == [sharing.json()["id"]]
    after = client.get(CONSENTS, headers=me).json()
    assert after["active"] == []
    assert [(e["kind"], e["purpose"]) for e in after["events"][:2]] == [
        ("revoke", "scoring"),
        ("revoke", "sharing"),
    ]
    assert len(after["events"]) == 4


def test_another_merchants_consent_is_404_and_other_roles_are_refused(make_api: MakeApi) -> None:
    api = make_api()
    client, db = api.client, api.db
    _a, mine = new_merchant(db)
    _b, theirs = new_merchant(db)
    their_consent = client.post(CONSENTS, json={"purpose": "scoring"}, headers=bearer(theirs)).json()
    for consent_id in (their_consent["id"], str(uuid.uuid4())):
        answer = client.delete(f"{CONSENTS}/{consent_id}", headers=bearer(mine))
        assert answer.status_code == 404 and answer.json()["error"] == "consent_not_found"
    assert client.get(CONSENTS, headers=bearer(theirs)).json()["active"][0]["revoked_at"] is None
    operator = bearer(staff_key(db, Role.OPERATOR))
    assert client.get(CONSENTS, headers=operator).status_code == 403
    assert client.post(CONSENTS, json={"purpose": "scoring"}, headers=operator).status_code == 403
    assert client.get(CONSENTS).status_code == 401


def test_lenders_are_listed_for_merchants_and_staff(make_api: MakeApi) -> None:
    api = make_api()
    name = f"Koperasi Maju {uuid.uuid4().hex[:6]}"
    lender_id, lender_headers = lender_key(api.db, name)
    _m, secret = new_merchant(api.db)
    for headers in (bearer(secret), bearer(staff_key(api.db, Role.AUDITOR))):
        listed = api.client.get("/v1/lenders", headers=headers)
        assert listed.status_code == 200
        assert {"id": str(lender_id), "name": name} in listed.json()["items"]
    assert api.client.get("/v1/lenders", headers=lender_headers).status_code == 403


def test_lender_keys_from_the_admin_route_and_the_cli(make_api: MakeApi, capsys: object) -> None:
    api = make_api(admin_secret="s3cret-for-tests-only-0123456789")
    admin = {"X-Admin-Secret": "s3cret-for-tests-only-0123456789"}
    name = f"Koperasi Sejahtera {uuid.uuid4().hex[:6]}"
    issued = api.client.post("/v1/api-keys", json={"role": "lender", "lender_name": name}, headers=admin)
    assert issued.status_code == 201, issued.text
    body = issued.json()
    assert body["role"] == "lender" and body["lender_id"]
    assert api.client.get("/v1/lender/merchants", headers=bearer(body["api_key"])).json() == {"items": []}
    for bad in (
        {"role": "lender"},
        {"role": "operator", "lender_name": name},
        {"role": "lender", "lender_name": ""},
    ):
        assert api.client.post("/v1/api-keys", json=bad, headers=admin).status_code == 422, bad
    assert api.client.post("/v1/api-keys", json={"role": "lender", "lender_name": name}).status_code == 401

    assert (
        main(["keys", "issue", "--role", "lender", "--lender-name", name, "--database-url", api.db.url]) == 0
    )
    printed = json.loads(capsys.readouterr().out)  # type: ignore[attr-defined]
    assert printed["role"] == "lender" and printed["lender_id"] == body["lender_id"]  # same lender
    assert api.client.get("/v1/lender/merchants", headers=bearer(printed["api_key"])).status_code == 200


def test_an_operator_rotates_and_revokes_a_lender_key(make_api: MakeApi) -> None:
    api = make_api()
    lender_id, old = lender_key(api.db)
    with api.db.sessions() as session:
        old_id = session.scalars(select(ApiKey.id).where(ApiKey.lender_id == lender_id)).one()
    operator = bearer(staff_key(api.db, Role.OPERATOR))
    rotated = api.client.post(f"/v1/api-keys/{old_id}/rotate", json={}, headers=operator)
    assert rotated.status_code == 201, rotated.text
    new = bearer(rotated.json()["api_key"])
    assert rotated.json()["role"] == "lender"
    assert api.client.get("/v1/lender/merchants", headers=new).status_code == 200
    assert api.client.get("/v1/lender/merchants", headers=old).status_code == 401
    again = api.client.post(f"/v1/api-keys/{old_id}/rotate", json={}, headers=operator)
    assert again.status_code == 409
    _m, merchant = new_merchant(api.db)
    refused = api.client.post(
        f"/v1/api-keys/{rotated.json()['id']}/rotate", json={}, headers=bearer(merchant)
    )
    assert refused.status_code == 404
    revoked = api.client.post(f"/v1/api-keys/{rotated.json()['id']}/revoke", headers=operator)
    assert revoked.status_code == 200
    assert api.client.get("/v1/lender/merchants", headers=new).status_code == 401
