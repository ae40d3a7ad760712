"""``/v1/payment-requests`` through HTTP, and the checkout pages and QR codes they lead to
(SQLite and PostgreSQL): a merchant creates, lists, reads and cancels its own requests; another
merchant's are 404; bad bodies are 422 and change nothing; expiry is a recorded move."""

from __future__ import annotations

import uuid
from datetime import timedelta

from sqlalchemy import func, select, update

from common.sql.helpers import utcnow
from settlement.requests.models import PaymentRequest, PaymentRequestStatusChange
from tests.api.support import Harness, bearer, new_merchant


def _count(api: Harness) -> int:
    with api.db.sessions() as session:
        return session.scalar(select(func.count()).select_from(PaymentRequest)) or 0


def test_merchant_creates_lists_reads_and_cancels_its_requests(api: Harness) -> None:
    merchant_id, key = new_merchant(api.db)
    made = api.client.post(
        "/v1/payment-requests",
        json={"amount": 1_200_000, "reference": "Pesanan #1042", "expires_in_seconds": 3600},
        headers=bearer(key),
    )
    assert made.status_code == 201, made.text
    body = made.json()
    assert body["status"] == "open" and body["amount"] == 1_200_000 and body["reusable"] is False
    assert body["merchant_id"] == str(merchant_id)
    assert body["checkout_url"] == f"/pay/r/{body['id']}"
    listed = api.client.get("/v1/payment-requests", headers=bearer(key)).json()
    assert [item["id"] for item in listed["items"]] == [body["id"]]
    detail = api.client.get(f"/v1/payment-requests/{body['id']}", headers=bearer(key)).json()
    assert [(h["from_status"], h["to_status"]) for h in detail["history"]] == [("", "open")]
    assert detail["payments"] == []
    cancelled = api.client.post(f"/v1/payment-requests/{body['id']}/cancel", headers=bearer(key))
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    again = api.client.post(f"/v1/payment-requests/{body['id']}/cancel", headers=bearer(key))
    assert again.status_code == 200 and again.json()["status"] == "cancelled"
    page = api.client.get(f"/pay/r/{body['id']}")
    assert page.status_code == 200 and 'id="request-status"' in page.text and 'id="continue"' not in page.text


def test_another_merchants_request_is_404_and_bad_bodies_change_nothing(api: Harness) -> None:
    _, key = new_merchant(api.db)
    _, other_key = new_merchant(api.db)
    made = api.client.post(
        "/v1/payment-requests", json={"amount": 500_000, "reference": "Nasi pecel"}, headers=bearer(key)
    ).json()
    for path in (f"/v1/payment-requests/{made['id']}", f"/v1/payment-requests/{uuid.uuid4()}"):
        response = api.client.get(path, headers=bearer(other_key))
        assert (response.status_code, response.json()["error"]) == (404, "payment_request_not_found")
    refused = api.client.post(f"/v1/payment-requests/{made['id']}/cancel", headers=bearer(other_key))
    assert refused.status_code == 404
    before = _count(api)
    for bad in (
        {"amount": "1200000", "reference": "x"},
        {"amount": True, "reference": "x"},
        {"amount": 0, "reference": "x"},
        {"amount": 100, "reference": "a\u202eb"},
        {"amount": 100, "reference": "x", "reusable": "yes"},
        {"amount": 100, "reference": "x", "expires_in_seconds": 5},
        {"amount": 100, "reference": "x", "extra": 1},
    ):
        response = api.client.post("/v1/payment-requests", json=bad, headers=bearer(key))
        assert response.status_code == 422, (bad, response.text)
    assert _count(api) == before
    assert api.client.get("/v1/payment-requests").status_code == 401


def test_expiry_is_a_recorded_move_and_the_page_says_so(api: Harness) -> None:
    _, key = new_merchant(api.db)
    made = api.client.post(
        "/v1/payment-requests",
        json={"amount": 300_000, "reference": "Es teh", "expires_in_seconds": 60},
        headers=bearer(key),
    ).json()
    with api.db.sessions.begin() as session:
        session.execute(
            update(PaymentRequest)
            .where(PaymentRequest.id == uuid.UUID(made["id"]))
            .values(expires_at=utcnow() - timedelta(seconds=1))
        )
    detail = api.client.get(f"/v1/payment-requests/{made['id']}", headers=bearer(key)).json()
    assert detail["status"] == "expired"
    assert [h["to_status"] for h in detail["history"]] == ["open", "expired"]
    refused = api.client.post(f"/v1/payment-requests/{made['id']}/cancel", headers=bearer(key))
    assert (refused.status_code, refused.json()["error"]) == (409, "payment_request_not_cancellable")
    page = api.client.get(f"/pay/r/{made['id']}", headers={"Accept-Language": "en"})
    assert "has expired" in page.text
    with api.db.sessions() as session:
        moves = session.scalar(
            select(func.count()).where(PaymentRequestStatusChange.request_id == uuid.UUID(made["id"]))
        )
    assert moves == 2


def test_qr_codes_of_merchant_and_request_links(api: Harness) -> None:
    merchant_id, key = new_merchant(api.db)
    made = api.client.post(
        "/v1/payment-requests", json={"amount": 100_000, "reference": "Kopi"}, headers=bearer(key)
    ).json()
    for path in (f"/pay/{merchant_id}", f"/pay/r/{made['id']}"):
        svg = api.client.get(path + "/qr.svg")
        assert svg.status_code == 200 and svg.headers["content-type"].startswith("image/svg+xml")
        assert b"<svg" in svg.content and path.encode() in svg.content  # the title names the link
        png = api.client.get(path + "/qr.png")
        assert png.status_code == 200 and png.content.startswith(b"\x89PNG\r\n\x1a\n")
    assert api.client.get(f"/pay/{uuid.uuid4()}/qr.svg").status_code == 404


def test_a_damaged_link_is_a_page_in_the_customers_language(api: Harness) -> None:
    for path in (
        "/pay/not-a-merchant",
        "/pay/r/x",
        "/pay/q/123",
        "/pay/receipt/%E2%80%AE",
        f"/pay/{uuid.uuid4()}",
    ):
        page = api.client.get(path)
        assert page.status_code == 404 and page.headers["content-type"].startswith("text/html"), path
        assert 'id="error"' in page.text and "Tidak dapat dilanjutkan" in page.text
    english = api.client.get("/pay/r/x", headers={"Accept-Language": "en-GB,en;q=0.9"})
    assert "Please scan the merchant&#39;s QR code again." in english.text
