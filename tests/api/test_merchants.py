"""Merchant onboarding and profiles."""

from __future__ import annotations

import uuid

import httpx
from sqlalchemy import func, select

from api.models import Merchant, Role
from settlement.payments.models import Payment
from tests.api.support import Harness, bearer, new_merchant, staff_key


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


def _quote(api: Harness, key: str) -> httpx.Response:
    return api.client.post("/v1/quotes", json={"sell_amount": 12 * 10**7}, headers=bearer(key))


def _payments(api: Harness) -> int:
    with api.db.sessions() as session:
        return session.scalar(select(func.count()).select_from(Payment)) or 0


def test_suspendedMerchant_getsNoQuoteNorPayment_untilReinstated_withHistory(api: Harness) -> None:
    operator = staff_key(api.db, Role.OPERATOR)
    merchant, key = new_merchant(api.db)
    quote = _quote(api, key)
    assert quote.status_code == 201, quote.text
    reason = {"reason": "KYC documents expired"}
    suspended = api.client.post(f"/v1/merchants/{merchant}/suspend", json=reason, headers=bearer(operator))
    assert suspended.status_code == 200, suspended.text
    assert suspended.json()["status"] == "suspended"
    assert [(h["from_status"], h["to_status"], h["reason"]) for h in suspended.json()["history"]] == [
        ("active", "suspended", "KYC documents expired")
    ]
    assert api.client.get("/v1/merchants/me", headers=bearer(key)).json()["status"] == "suspended"
    # Suspending again changes nothing and writes no history.
    again = api.client.post(f"/v1/merchants/{merchant}/suspend", json=reason, headers=bearer(operator))
    assert again.status_code == 200 and len(again.json()["history"]) == 1

    before, payments = api.db.counts(), _payments(api)
    refused = _quote(api, key)
    assert (refused.status_code, refused.json()["error"]) == (409, "merchant_suspended")
    body = {"quote_id": quote.json()["id"], "pi_payment_id": f"pi_{uuid.uuid4().hex}"}
    refused = api.client.post("/v1/payments", json=body, headers=bearer(key))
    assert (refused.status_code, refused.json()["error"]) == (409, "merchant_suspended")
    assert api.db.counts() == before and _payments(api) == payments

    back = api.client.post(
        f"/v1/merchants/{merchant}/reinstate", json={"reason": "documents renewed"}, headers=bearer(operator)
    )
    assert back.status_code == 200 and back.json()["status"] == "active"
    assert [h["to_status"] for h in back.json()["history"]] == ["suspended", "active"]
    assert _quote(api, key).status_code == 201
    paid = api.client.post("/v1/payments", json=body, headers=bearer(key))
    assert paid.status_code == 202, paid.text
    # A payment recorded before a suspension is not approved during it.
    api.client.post(f"/v1/merchants/{merchant}/suspend", json=reason, headers=bearer(operator))
    approve = api.client.post(f"/v1/pi/payments/{body['pi_payment_id']}/approve", headers=bearer(key))
    assert (approve.status_code, approve.json()["error"]) == (409, "merchant_suspended")


def test_suspendAndReinstate_areForOperatorsOnly_withAReason(api: Harness) -> None:
    merchant, key = new_merchant(api.db)
    other, _ = new_merchant(api.db)
    reason = {"reason": "fraud report"}
    for path in ("suspend", "reinstate"):
        for target in (merchant, other):
            as_merchant = api.client.post(f"/v1/merchants/{target}/{path}", json=reason, headers=bearer(key))
            assert as_merchant.status_code == 403
        auditor = staff_key(api.db, Role.AUDITOR)
        assert (
            api.client.post(
                f"/v1/merchants/{merchant}/{path}", json=reason, headers=bearer(auditor)
            ).status_code
            == 403
        )
        assert api.client.post(f"/v1/merchants/{merchant}/{path}", json=reason).status_code == 401
    operator = staff_key(api.db, Role.OPERATOR)
    unknown = api.client.post(f"/v1/merchants/{uuid.uuid4()}/suspend", json=reason, headers=bearer(operator))
    assert (unknown.status_code, unknown.json()["error"]) == (404, "merchant_not_found")
    for bad in ({}, {"reason": ""}, {"reason": "   "}):
        response = api.client.post(f"/v1/merchants/{merchant}/suspend", json=bad, headers=bearer(operator))
        assert response.status_code == 422
    assert api.client.get("/v1/merchants/me", headers=bearer(key)).json()["status"] == "active"


def test_kelurahan_isLookedUp_storedAsOfficialNameAndCode(api: Harness) -> None:
    operator = staff_key(api.db, Role.OPERATOR)
    by_name = api.client.post(
        "/v1/merchants",
        json={**_body(uuid.uuid4().hex[:8]), "kelurahan": " oro oro  OMBO"},
        headers=bearer(operator),
    )
    assert by_name.status_code == 201, by_name.text
    merchant = by_name.json()["merchant"]
    assert (merchant["kelurahan"], merchant["kelurahan_code"]) == ("Oro-oro Ombo", "35.77.01.1001")
    assert merchant["simulated"] is False
    by_code = api.client.post(
        "/v1/merchants",
        json={**_body(uuid.uuid4().hex[:8]), "kelurahan": "35.77.03.1006"},
        headers=bearer(operator),
    )
    assert by_code.status_code == 201, by_code.text
    assert (by_code.json()["merchant"]["kelurahan"], by_code.json()["merchant"]["kelurahan_code"]) == (
        "Kejuron",
        "35.77.03.1006",
    )
    with api.db.sessions() as session:
        row = session.get(Merchant, uuid.UUID(merchant["id"]))
        assert row is not None and (row.kelurahan, row.kelurahan_code) == ("Oro-oro Ombo", "35.77.01.1001")


def test_unknownKelurahan_is422_andNothingIsWritten(api: Harness) -> None:
    operator = staff_key(api.db, Role.OPERATOR)
    before = api.db.counts()
    for given in ("Jakarta", "35.77.03.1010"):
        refused = api.client.post(
            "/v1/merchants",
            json={**_body(uuid.uuid4().hex[:8]), "kelurahan": given},
            headers=bearer(operator),
        )
        assert refused.status_code == 422, refused.text
        assert refused.json()["error"] == "unknown_kelurahan"
        assert given in refused.json()["message"]
    assert api.db.counts() == before
