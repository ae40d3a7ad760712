"""The checkout's calls through HTTP against a local Pi peer (SQLite and PostgreSQL), as the page
makes them from the Pi SDK's callbacks: the server trusts only Pi's answers (``GET /v2/me`` for
the Pioneer, ``GET /v2/payments/{id}`` for the payment), refuses every mismatch with the
customer's sentence and a code, records nothing then, and cancels on Pi only payments bound to it.
"""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select, update
from stellar_sdk import Keypair

from api.models import Role
from checkout.service import Checkout, CheckoutPi
from checkout.settings import CheckoutSettings
from common.sql.helpers import utcnow
from pi_peer.server import PeerServer
from settlement.flow.pi_flow import PiPaymentFlow
from settlement.payments.models import Payment
from settlement.pi.horizon import PI_TESTNET_PASSPHRASE, PiHorizon
from settlement.pi.platform_client import PiPlatformClient
from settlement.quotes.models import Quote
from settlement.requests import service as requests_service
from settlement.requests.models import HostedQuote
from tests.api.support import Harness, MakeApi, bearer, new_merchant, staff_key
from tests.support.pi_peer import API_KEY, app_keypair, peer

__all__ = ["app_keypair", "peer"]


@dataclass
class Queue:
    """Records what the checkout queues (the worker side is tested in the browser tests)."""

    calls: list[tuple[str, tuple[str, ...]]] = field(default_factory=list)

    def enqueue(self, name: str, *args: str) -> bool:
        self.calls.append((name, args))
        return True


@dataclass
class Shop:
    """The app with its checkout on the peer, and the peer as the Pioneer's SDK sees it."""

    api: Harness
    peer: PeerServer
    queue: Queue
    sdk: httpx.Client
    csrf: str

    def sign_in(self, uid: str | None = None) -> tuple[str, str]:
        """``Pi.authenticate``: a (new) Pioneer's access token and uid."""
        body = self.sdk.post("/_peer/sdk/authenticate", content=_json({"uid": uid})).json()
        return body["access_token"], body["user"]["uid"]

    def create_payment(self, token: str, amount: Decimal, metadata: dict[str, str]) -> dict[str, Any]:
        """``Pi.createPayment``."""
        created = self.sdk.post(
            "/_peer/sdk/payments",
            content=_json(
                {"access_token": token, "amount": str(amount), "memo": "test", "metadata": metadata}
            ),
        )
        assert created.status_code == 200, created.text
        return dict(created.json())

    def call(self, path: str, body: dict[str, Any], csrf: str | None = "") -> httpx.Response:
        headers = {"X-CSRF-Token": self.csrf if csrf == "" else (csrf or "")}
        return self.api.client.post(path, json=body, headers=headers)

    def quote(self, merchant: uuid.UUID, amount: str = "12.000", request: uuid.UUID | None = None) -> Quote:
        if request is not None:
            page = self.api.client.post(f"/pay/r/{request}", data={"csrf": self.csrf}, follow_redirects=False)
        else:
            page = self.api.client.post(
                f"/pay/{merchant}", data={"csrf": self.csrf, "amount": amount}, follow_redirects=False
            )
        assert page.status_code == 303, page.text
        quote_id = uuid.UUID(page.headers["location"].rsplit("/", 1)[1])
        with self.api.db.sessions() as session:
            quote = session.get(Quote, quote_id)
            assert quote is not None
            return quote

    def pi_payment(self, identifier: str) -> dict[str, Any]:
        response = httpx.get(
            f"{self.peer.platform_url}/payments/{identifier}", headers={"Authorization": f"Key {API_KEY}"}
        )
        return dict(response.json())

    def counts(self) -> tuple[int, int]:
        with self.api.db.sessions() as session:
            payments = session.scalar(select(func.count()).select_from(Payment)) or 0
            hosted = session.scalar(select(func.count()).select_from(HostedQuote)) or 0
        return payments, hosted


def _json(body: dict[str, Any]) -> bytes:
    """A ``text/plain`` JSON body, as the SDK stand-in sends it."""
    return json.dumps(body).encode()


def _pi_amount(quote: Quote) -> Decimal:
    return Decimal(quote.sell_amount).scaleb(-7)


def _metadata(quote: Quote, merchant: uuid.UUID, request: uuid.UUID | None = None) -> dict[str, str]:
    metadata = {"merchant": str(merchant), "quote": str(quote.id)}
    if request is not None:
        metadata["request"] = str(request)
    return metadata


@pytest.fixture
def shop(make_api: MakeApi, peer: PeerServer, app_keypair: Keypair) -> Iterator[Shop]:
    api = make_api()
    state = api.client.app.state  # type: ignore[attr-defined]
    platform = PiPlatformClient(API_KEY, peer.platform_url, max_retries=0)
    flow = PiPaymentFlow(
        state.sessions,
        state.payments,
        platform,
        PiHorizon(peer.url, PI_TESTNET_PASSPHRASE),
        app_keypair.public_key,
    )
    queue = Queue()
    state.checkout = Checkout(
        state.sessions, state.quotes, state.payments, CheckoutPi(platform, peer.platform_url, flow), queue
    )
    state.checkout_settings = CheckoutSettings.from_env({}, sdk_url=peer.url + "sdk/pi-sdk.js")
    merchant, _key = new_merchant(api.db)
    page = api.client.get(f"/pay/{merchant}")
    assert page.status_code == 200
    with httpx.Client(base_url=peer.url) as sdk:
        yield Shop(api, peer, queue, sdk, api.client.cookies["msc_csrf"])
    platform.close()


def test_pages_allow_exactly_the_sdk_origin_and_forms_need_the_csrf_token(shop: Shop) -> None:
    merchant, _ = new_merchant(shop.api.db)
    page = shop.api.client.get(f"/pay/{merchant}")
    origin = shop.peer.url.rstrip("/")
    policy = page.headers["content-security-policy"]
    assert f"script-src 'self' {origin};" in policy and f"connect-src 'self' {origin};" in policy
    assert "unsafe-inline" not in policy
    assert "Bayar dengan Pi" in page.text and "Kelurahan Taman" in page.text
    english = shop.api.client.get(f"/pay/{merchant}?lang=en")
    assert "Pay with Pi" in english.text and english.cookies.get("msc_lang") == "en"
    before = shop.counts()
    forged = shop.api.client.post(f"/pay/{merchant}", data={"csrf": "x" * 43, "amount": "12.000"})
    assert forged.status_code == 403
    bad_amount = shop.api.client.post(f"/pay/{merchant}", data={"csrf": shop.csrf, "amount": "12,5"})
    assert bad_amount.status_code == 422 and 'id="error"' in bad_amount.text
    assert shop.counts() == before


def test_approval_refuses_every_mismatch_and_records_nothing(shop: Shop) -> None:
    merchant, _ = new_merchant(shop.api.db)
    quote = shop.quote(merchant)
    other = shop.quote(merchant, "13.000")
    token, _uid = shop.sign_in()
    before = shop.counts()

    def approve(pi_id: str, quote_id: uuid.UUID, access_token: str = token, **kw: Any) -> httpx.Response:
        body = {"pi_payment_id": pi_id, "quote_id": str(quote_id), "access_token": access_token}
        return shop.call("/pay/api/approve", body, **kw)

    tampered = shop.create_payment(token, Decimal("0.0000001"), _metadata(quote, merchant))
    refused = approve(tampered["identifier"], quote.id)
    assert (refused.status_code, refused.json()["error"]) == (422, "pi_payment_mismatch")
    assert "tidak sesuai" in refused.json()["message"]
    assert shop.pi_payment(tampered["identifier"])["status"]["cancelled"] is True  # ours: unblocked
    wrong_quote = shop.create_payment(token, _pi_amount(quote), _metadata(quote, merchant))
    refused = approve(wrong_quote["identifier"], other.id)
    assert (refused.status_code, refused.json()["error"]) == (422, "pi_payment_not_bound")
    assert shop.pi_payment(wrong_quote["identifier"])["status"]["cancelled"] is False  # not ours to cancel
    stranger, _ = shop.sign_in()
    refused = approve(wrong_quote["identifier"], quote.id, stranger)
    assert (refused.status_code, refused.json()["error"]) == (422, "pi_payment_not_bound")
    refused = approve(wrong_quote["identifier"], quote.id, "forged-token")
    assert (refused.status_code, refused.json()["error"]) == (401, "pi_sign_in_refused")
    refused = approve(wrong_quote["identifier"], quote.id, csrf=None)
    assert (refused.status_code, refused.json()["error"]) == (403, "csrf_failed")
    assert shop.counts() == before
    # The honest call goes through: recorded and approved on Pi.
    approved = approve(wrong_quote["identifier"], quote.id)
    assert approved.status_code == 200, approved.text
    assert approved.json()["status"] == "pending_user_transfer_start"
    assert shop.pi_payment(wrong_quote["identifier"])["status"]["developer_approved"] is True
    assert approve(wrong_quote["identifier"], quote.id).json()["status"] == "pending_user_transfer_start"
    assert shop.counts()[0] == before[0] + 1


def test_an_expired_quote_is_refused_and_its_pi_payment_cancelled(shop: Shop) -> None:
    merchant, _ = new_merchant(shop.api.db)
    quote = shop.quote(merchant)
    token, _ = shop.sign_in()
    made = shop.create_payment(token, _pi_amount(quote), _metadata(quote, merchant))
    with shop.api.db.sessions.begin() as session:
        session.execute(
            update(Quote).where(Quote.id == quote.id).values(expires_at=utcnow() - timedelta(seconds=1))
        )
    before = shop.counts()
    refused = shop.call(
        "/pay/api/approve",
        {"pi_payment_id": made["identifier"], "quote_id": str(quote.id), "access_token": token},
    )
    assert (refused.status_code, refused.json()["error"]) == (409, "quote_expired")
    assert shop.pi_payment(made["identifier"])["status"]["cancelled"] is True
    assert shop.counts() == before
    renewed = shop.call("/pay/api/renew", {"quote_id": str(quote.id)})
    assert renewed.status_code == 200 and renewed.json()["quote_id"] != str(quote.id)


def test_a_one_use_request_is_approved_for_one_customer_only(shop: Shop) -> None:
    merchant, key = new_merchant(shop.api.db)
    with shop.api.db.sessions.begin() as session:
        request = requests_service.create(
            session,
            merchant_id=merchant,
            amount=2_500_000,
            reference="Pesanan #9",
            reusable=False,
            expires_at=None,
        )
    first_quote = shop.quote(merchant, request=request.id)
    second_quote = shop.quote(merchant, request=request.id)
    first_token, _ = shop.sign_in()
    second_token, _ = shop.sign_in()
    first = shop.create_payment(
        first_token, _pi_amount(first_quote), _metadata(first_quote, merchant, request.id)
    )
    second = shop.create_payment(
        second_token, _pi_amount(second_quote), _metadata(second_quote, merchant, request.id)
    )
    ok = shop.call(
        "/pay/api/approve",
        {"pi_payment_id": first["identifier"], "quote_id": str(first_quote.id), "access_token": first_token},
    )
    assert ok.status_code == 200, ok.text
    before = shop.counts()
    refused = shop.call(
        "/pay/api/approve",
        {
            "pi_payment_id": second["identifier"],
            "quote_id": str(second_quote.id),
            "access_token": second_token,
        },
    )
    assert (refused.status_code, refused.json()["error"]) == (409, "payment_request_in_progress")
    assert shop.pi_payment(second["identifier"])["status"]["cancelled"] is True
    assert shop.counts() == before
    page = shop.api.client.get(f"/pay/r/{request.id}")
    assert "sedang membayar" in page.text and 'id="continue"' not in page.text
    # The merchant, told of the payment by a webhook, finds the request it paid (and only its own).
    headers = {"Authorization": f"Bearer {key}"}
    found = shop.api.client.get(
        "/v1/payment-requests", params={"payment_id": ok.json()["payment_id"]}, headers=headers
    ).json()
    assert [item["id"] for item in found["items"]] == [str(request.id)]
    assert (
        found["items"][0]["status"] == "processing"
        and found["items"][0]["payment_id"] == ok.json()["payment_id"]
    )
    detail = shop.api.client.get(f"/v1/payment-requests/{request.id}", headers=headers).json()
    assert [p["id"] for p in detail["payments"]] == [ok.json()["payment_id"]]
    _, other_key = new_merchant(shop.api.db)
    none = shop.api.client.get(
        "/v1/payment-requests",
        params={"payment_id": ok.json()["payment_id"]},
        headers={"Authorization": f"Bearer {other_key}"},
    ).json()
    assert none["items"] == []


def test_completion_records_only_the_transaction_pi_links(shop: Shop) -> None:
    merchant, _ = new_merchant(shop.api.db)
    quote = shop.quote(merchant)
    token, _ = shop.sign_in()
    made = shop.create_payment(token, _pi_amount(quote), _metadata(quote, merchant))
    pi_id = made["identifier"]
    approved = shop.call(
        "/pay/api/approve", {"pi_payment_id": pi_id, "quote_id": str(quote.id), "access_token": token}
    )
    assert approved.status_code == 200
    bogus = "ab" * 32
    refused = shop.call("/pay/api/complete", {"pi_payment_id": pi_id, "txid": bogus, "access_token": token})
    assert (refused.status_code, refused.json()["error"]) == (409, "pi_transaction_not_linked")
    paid = shop.sdk.post(f"/_peer/sdk/payments/{pi_id}/pay", content=_json({"access_token": token}))
    txid = paid.json()["txid"]
    stranger, _ = shop.sign_in()
    refused = shop.call("/pay/api/complete", {"pi_payment_id": pi_id, "txid": txid, "access_token": stranger})
    assert (refused.status_code, refused.json()["error"]) == (404, "checkout_payment_not_found")
    done = shop.call("/pay/api/complete", {"pi_payment_id": pi_id, "txid": txid, "access_token": token})
    assert done.status_code == 200 and done.json()["status"] == "pending_anchor"
    assert shop.queue.calls == [("payments.verify_and_complete", (done.json()["payment_id"],))]
    progress = shop.api.client.get(f"/pay/api/payments/{done.json()['payment_id']}").json()
    assert progress["paid"] is False and progress["failed"] is False


def _at_once(calls: list[Callable[[], httpx.Response]]) -> list[httpx.Response]:
    """The answers of ``calls`` made at the same moment, in the order of ``calls``."""
    barrier = threading.Barrier(len(calls))
    results: dict[int, httpx.Response] = {}

    def run(index: int, call: Callable[[], httpx.Response]) -> None:
        barrier.wait()
        results[index] = call()

    threads = [threading.Thread(target=run, args=(i, call)) for i, call in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return [results[i] for i in range(len(calls))]


def test_concurrent_callbacks_and_customers_are_settled_once(shop: Shop) -> None:
    if shop.api.db.backend != "postgresql":
        pytest.skip("concurrent writers are PostgreSQL's deployment (the embedded SQLite serves one process)")
    merchant, _ = new_merchant(shop.api.db)
    quote = shop.quote(merchant)
    token, _ = shop.sign_in()
    made = shop.create_payment(token, _pi_amount(quote), _metadata(quote, merchant))
    body = {"pi_payment_id": made["identifier"], "quote_id": str(quote.id), "access_token": token}
    answers = _at_once([lambda: shop.call("/pay/api/approve", body)] * 5)
    assert [a.status_code for a in answers] == [200] * 5, [a.text for a in answers]
    assert {a.json()["payment_id"] for a in answers} == {answers[0].json()["payment_id"]}
    pi = shop.pi_payment(made["identifier"])
    assert pi["status"]["developer_approved"] is True and pi["status"]["cancelled"] is False
    # Two customers pay one one-use request at the same moment: one is approved, one refused.
    with shop.api.db.sessions.begin() as session:
        request = requests_service.create(
            session, merchant_id=merchant, amount=700_000, reference="Sate", reusable=False, expires_at=None
        )
    customers = []
    for _ in range(2):
        request_quote = shop.quote(merchant, request=request.id)
        customer_token, _ = shop.sign_in()
        pi_payment = shop.create_payment(
            customer_token, _pi_amount(request_quote), _metadata(request_quote, merchant, request.id)
        )
        customers.append(
            {
                "pi_payment_id": pi_payment["identifier"],
                "quote_id": str(request_quote.id),
                "access_token": customer_token,
            }
        )
    raced = _at_once([lambda c=c: shop.call("/pay/api/approve", c) for c in customers])  # type: ignore[misc]
    assert sorted(r.status_code for r in raced) == [200, 409], [r.text for r in raced]
    loser = next(c for c, r in zip(customers, raced, strict=True) if r.status_code == 409)
    assert shop.pi_payment(loser["pi_payment_id"])["status"]["cancelled"] is True, [r.text for r in raced]
    with shop.api.db.sessions() as session:
        held = requests_service.get(session, request.id)
        recorded = session.scalar(
            select(func.count())
            .select_from(Payment)
            .where(Payment.quote_id.in_([uuid.UUID(c["quote_id"]) for c in customers]))
        )
    assert held.status == "processing" and recorded == 1


def test_a_closed_dialog_expires_an_unpaid_payment_and_settles_a_paid_one(shop: Shop) -> None:
    merchant, _ = new_merchant(shop.api.db)
    token, _ = shop.sign_in()
    payments: dict[str, str] = {}
    for name in ("unpaid", "paid"):
        quote = shop.quote(merchant)
        made = shop.create_payment(token, _pi_amount(quote), _metadata(quote, merchant))
        body = {"pi_payment_id": made["identifier"], "quote_id": str(quote.id), "access_token": token}
        approved = shop.call("/pay/api/approve", body)
        assert approved.status_code == 200, approved.text
        payments[name] = made["identifier"]
        if name == "unpaid":
            closed = shop.call(
                "/pay/api/cancel", {"pi_payment_id": made["identifier"], "access_token": token}
            )
            assert closed.status_code == 200 and closed.json()["status"] == "expired"
            assert shop.pi_payment(made["identifier"])["status"]["cancelled"] is True
    paid = shop.sdk.post(
        f"/_peer/sdk/payments/{payments['paid']}/pay", content=_json({"access_token": token})
    )
    assert paid.status_code == 200
    # onError after the Pi left the wallet: the payment is settled, never expired.
    closed = shop.call("/pay/api/cancel", {"pi_payment_id": payments["paid"], "access_token": token})
    assert closed.status_code == 200 and closed.json()["status"] == "pending_anchor"
    assert [name for name, _args in shop.queue.calls] == ["payments.verify_and_complete"]
    stranger, _ = shop.sign_in()
    refused = shop.call("/pay/api/cancel", {"pi_payment_id": payments["paid"], "access_token": stranger})
    assert (refused.status_code, refused.json()["error"]) == (404, "checkout_payment_not_found")


def test_a_suspended_merchant_cannot_be_paid_and_the_customer_is_told_why(shop: Shop) -> None:
    merchant, _key = new_merchant(shop.api.db)
    quote = shop.quote(merchant)  # priced before the suspension: its approval is refused too
    request_made = shop.api.client.post(
        "/v1/payment-requests",
        json={"amount": 4_500_000, "reference": "Kain #7"},
        headers=bearer(_key),
    )
    assert request_made.status_code == 201, request_made.text
    request = request_made.json()["id"]
    operator = staff_key(shop.api.db, Role.OPERATOR)
    suspended = shop.api.client.post(
        f"/v1/merchants/{merchant}/suspend", json={"reason": "fraud report"}, headers=bearer(operator)
    )
    assert suspended.status_code == 200
    token, _uid = shop.sign_in()
    pi = shop.create_payment(token, _pi_amount(quote), _metadata(quote, merchant))
    before = shop.counts()

    for path in (f"/pay/{merchant}", f"/pay/q/{quote.id}", f"/pay/r/{request}", f"/pay/{merchant}/qr.svg"):
        page = shop.api.client.get(path)
        assert page.status_code == 409 and "tidak dapat menerima pembayaran" in page.text, path
    english = shop.api.client.get(f"/pay/{merchant}?lang=en")
    assert "This merchant cannot take payments right now" in english.text
    shop.api.client.get(f"/pay/{merchant}?lang=id")
    for path, form in (
        (f"/pay/{merchant}", {"csrf": shop.csrf, "amount": "12.000"}),
        (f"/pay/r/{request}", {"csrf": shop.csrf}),
        (f"/pay/q/{quote.id}/renew", {"csrf": shop.csrf}),
    ):
        refused = shop.api.client.post(path, data=form, follow_redirects=False)
        assert refused.status_code == 409 and "tidak dapat menerima pembayaran" in refused.text, path
    body = {"pi_payment_id": pi["identifier"], "quote_id": str(quote.id), "access_token": token}
    refused = shop.call("/pay/api/approve", body)
    assert (refused.status_code, refused.json()["error"]) == (409, "merchant_suspended")
    assert "tidak dapat menerima pembayaran" in refused.json()["message"]
    assert shop.counts() == before  # nothing recorded, no new quote
    assert shop.pi_payment(pi["identifier"])["status"]["cancelled"] is True  # the Pioneer is unblocked
    assert shop.queue.calls == []

    reinstated = shop.api.client.post(
        f"/v1/merchants/{merchant}/reinstate", json={"reason": "cleared"}, headers=bearer(operator)
    )
    assert reinstated.status_code == 200
    assert shop.api.client.get(f"/pay/{merchant}").status_code == 200
    assert shop.quote(merchant).id != quote.id
