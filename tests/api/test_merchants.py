"""Merchant onboarding and profiles."""

from __future__ import annotations

import uuid

from api.models import Role
from tests.api.support import Harness, bearer, staff_key


def _body(suffix: str) -> dict[str, str]:
    return {
        "name": "  Warung Bu Sri ",
        "kelurahan": "Taman",
        "evm_address": "0x" + uuid.uuid4().hex + uuid.uuid4().hex[:8],
        "pi_username": f"sri_{suffix}",
    }


def test_onboarding_returnsTheMerchantAndAWorkingKeyOnce(api: Harness) -> None:
    operator = staff_key(api.db, Role.OPERATOR)
    body = _body(uuid.uuid4().hex[:8])
    made = api.client.post("/v1/merchants", json=body, headers=bearer(operator))
    assert made.status_code == 201
    merchant = made.json()["merchant"]
    assert merchant["name"] == "Warung Bu Sri"
    assert merchant["evm_address"] != body["evm_address"]  # checksummed
    assert merchant["evm_address"].lower() == body["evm_address"].lower()

    me = api.client.get("/v1/merchants/me", headers=bearer(made.json()["api_key"]))
    assert me.status_code == 200
    assert me.json() == merchant
    by_id = api.client.get(f"/v1/merchants/{merchant['id']}", headers=bearer(operator))
    assert by_id.json() == merchant


def test_duplicateAddressOrUsername_is409(api: Harness) -> None:
    operator = staff_key(api.db, Role.OPERATOR)
    body = _body(uuid.uuid4().hex[:8])
    assert api.client.post("/v1/merchants", json=body, headers=bearer(operator)).status_code == 201
    before = api.db.counts()
    again = api.client.post(
        "/v1/merchants", json={**body, "pi_username": "someone_else"}, headers=bearer(operator)
    )
    assert again.status_code == 409
    assert again.json()["error"] == "merchant_exists"
    assert api.db.counts() == before


def test_unknownMerchant_is404(api: Harness) -> None:
    operator = staff_key(api.db, Role.OPERATOR)
    response = api.client.get(f"/v1/merchants/{uuid.uuid4()}", headers=bearer(operator))
    assert response.status_code == 404
    assert response.json()["error"] == "merchant_not_found"
