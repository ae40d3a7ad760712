"""``/v1/payments/{id}/refunds`` on anvil, SQLite and PostgreSQL: a custodial merchant refunds with
its key only; a merchant with its own wallet signs the typed data the API hands out; an
Idempotency-Key refunds once; another merchant's payment is 404; refusals change nothing."""

from __future__ import annotations

import uuid

from chain.signer import Signer
from tests.api.refunds.conftest import ApiShop


def _url(shop: ApiShop, tail: str = "") -> str:
    return f"/v1/payments/{shop.payment_id}/refunds{tail}"


def _post(shop: ApiShop, body: dict[str, object], key: str | None = None) -> tuple[int, dict[str, object]]:
    headers = {**shop.headers, "Idempotency-Key": key or uuid.uuid4().hex}
    answer = shop.api.client.post(_url(shop), json=body, headers=headers)
    return answer.status_code, answer.json()


def test_a_custodial_merchant_refunds_part_then_replays_once(custodial: ApiShop) -> None:
    body = {"amount": 40_000, "reason": "Porsi tidak lengkap"}
    status, first = _post(custodial, body, key="retry-me")
    again_status, again = _post(custodial, body, key="retry-me")

    assert (status, first["state"], first["route"], first["amount"]) == (201, "confirmed", "escrow", 40_000)
    assert (again_status, again["id"]) == (201, first["id"])
    assert custodial.held() == custodial.amount - 40_000
    listed = custodial.api.client.get(_url(custodial), headers=custodial.headers).json()
    assert [r["id"] for r in listed] == [first["id"]]
    other = _post(custodial, {**body, "amount": 1_000}, key="retry-me")
    assert other[0] == 409
    assert custodial.held() == custodial.amount - 40_000


def test_refusals_change_nothing(custodial: ApiShop) -> None:
    assert _post(custodial, {"amount": custodial.amount + 1, "reason": "Terlalu banyak"})[0] == 422
    assert _post(custodial, {"amount": 1_000, "reason": "  "})[0] == 422
    no_key = custodial.api.client.post(
        _url(custodial), json={"amount": 1, "reason": "x y z"}, headers=custodial.headers
    )
    assert no_key.status_code == 400
    assert custodial.api.client.get(_url(custodial), headers=custodial.headers).json() == []
    assert custodial.held() == custodial.amount


def test_another_merchants_payment_is_not_found(custodial: ApiShop, own_wallet: ApiShop) -> None:
    foreign = f"/v1/payments/{custodial.payment_id}/refunds"
    headers = {**own_wallet.headers, "Idempotency-Key": uuid.uuid4().hex}
    assert (
        own_wallet.api.client.post(
            foreign, json={"amount": 1_000, "reason": "Bukan milik"}, headers=headers
        ).status_code
        == 404
    )
    assert own_wallet.api.client.get(foreign, headers=own_wallet.headers).status_code == 404
    assert (
        own_wallet.api.client.get(foreign + "/typed-data?amount=1000", headers=own_wallet.headers).status_code
        == 404
    )
    assert custodial.held() == custodial.amount


def test_an_own_wallet_signs_the_typed_data_the_api_hands_out(own_wallet: ApiShop) -> None:
    assert own_wallet.wallet is not None
    client = own_wallet.api.client
    assert _post(own_wallet, {"amount": 5_000, "reason": "Tanpa tanda tangan"})[0] == 422
    typed = client.get(_url(own_wallet, "/typed-data?amount=5000"), headers=own_wallet.headers).json()
    assert typed["primaryType"] == "RefundAuthorization"
    signed = own_wallet.wallet.sign_typed_data(typed)
    authorization = {
        "nonce": typed["message"]["nonce"],
        "valid_before": typed["message"]["validBefore"],
        "signature": "0x" + bytes(signed.signature).hex(),
    }
    forged = "0x" + bytes(Signer.dev(7).sign_typed_data(typed).signature).hex()
    bad = _post(
        own_wallet,
        {"amount": 5_000, "reason": "Palsu", "authorization": {**authorization, "signature": forged}},
    )
    assert bad[0] == 422
    status, refund = _post(
        own_wallet, {"amount": 5_000, "reason": "Salah pesan", "authorization": authorization}
    )
    assert (status, refund["state"]) == (201, "confirmed")
    assert own_wallet.held() == own_wallet.amount - 5_000
