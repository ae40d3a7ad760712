"""Payments through the API: create (idempotent), cancel, list and read with history, and bad input.

Every test runs on SQLite and PostgreSQL (the ``db`` fixture). The app gets a queue that records
what it was asked to run (the worker side is tested in tests/settlement/workers/), so these tests
state exactly what the HTTP layer queues and what it changes. Refused requests are checked to
change nothing by counting every table the request could touch.
"""

from __future__ import annotations

import secrets
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select, update

from api.app import create_app
from api.models import IdempotencyRecord, Role
from api.settings import ApiSettings
from chain.settings import ChainSettings
from settlement.ledger.sql import utcnow
from settlement.payments.models import Payment, PaymentStatus, PaymentStatusChange
from settlement.payments.service import PaymentService
from settlement.quotes.models import Quote
from settlement.quotes.service import QuoteSettings
from tests.api.support import BUILD_DIR, Db, bearer, new_merchant, staff_key

PI = 10**7


@dataclass
class RecordingQueue:
    """A task queue that records what it is given (thread-safe): the API's side of the contract."""

    tasks: list[tuple[str, tuple[str, ...]]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def enqueue(self, name: str, *args: str) -> bool:
        with self.lock:
            self.tasks.append((name, args))
        return True

    def of(self, payment_id: str) -> list[str]:
        """Names of the tasks queued for ``payment_id``."""
        return [name for name, args in self.tasks if args == (payment_id,)]


@dataclass
class Api:
    """An app with a recording queue on a migrated database."""

    client: TestClient
    db: Db
    queue: RecordingQueue

    def counts(self) -> dict[str, int]:
        """Row counts of everything a payment request can change."""
        with self.db.sessions() as session:
            counts = {
                model.__tablename__: session.scalar(select(func.count()).select_from(model)) or 0
                for model in (Payment, PaymentStatusChange, IdempotencyRecord)
            }
            used = select(func.count()).select_from(Quote).where(Quote.payment_id.is_not(None))
            counts["quotes_used"] = session.scalar(used) or 0
            return counts

    def quote(self, key: str, sell_amount: int = 10 * PI) -> str:
        made = self.client.post("/v1/quotes", json={"sell_amount": sell_amount}, headers=bearer(key))
        assert made.status_code == 201, made.text
        return str(made.json()["id"])

    def pay(self, key: str, quote_id: str, pi_payment_id: str | None = None, **headers: str) -> Any:
        body = {"quote_id": quote_id, "pi_payment_id": pi_payment_id or f"pi{secrets.token_hex(8)}"}
        return self.client.post("/v1/payments", json=body, headers={**bearer(key), **headers})

    def move(self, payment_id: str, to: PaymentStatus, **values: Any) -> None:
        """Moves a payment as the Pi flow would (the approval step runs in a worker)."""
        service: PaymentService = self.client.app.state.payments  # type: ignore[attr-defined]
        with self.db.sessions.begin() as session:
            payment = service.get(session, uuid.UUID(payment_id))
            service.transition(session, payment.id, PaymentStatus(payment.status), to, "test step", **values)


def open_api(db: Db, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    """An app with a recording queue on ``db`` (closed after)."""
    queue = RecordingQueue()
    settings = ApiSettings.from_env({}, database_url=db.url, max_body_bytes=4096)
    chain = ChainSettings.from_env(
        {}, rpc_url="http://127.0.0.1:9", build_dir=BUILD_DIR, deployments_dir=tmp_path_factory.mktemp("dep")
    )
    quotes = QuoteSettings.from_env({}, ttl_seconds=300, fee_bps=100, network_fee_minor=100)
    app = create_app(settings, chain_settings=chain, quote_settings=quotes, task_queue=queue)
    with TestClient(app, raise_server_exceptions=False) as client:
        yield Api(client, db, queue)


@pytest.fixture(scope="module")
def api(db: Db, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    yield from open_api(db, tmp_path_factory)


def txid() -> str:
    return secrets.token_hex(32)


def test_createPayment_recordsIncompleteAtQuote_andQueuesApproval(api: Api) -> None:
    merchant_id, key = new_merchant(api.db)
    quote_id = api.quote(key)
    made = api.pay(key, quote_id, "piCreate1")
    assert made.status_code == 202, made.text
    body = made.json()
    assert body["status"] == "incomplete" and body["queued"] == "payments.approve"
    assert body["merchant_id"] == str(merchant_id) and body["quote_id"] == quote_id
    assert body["pi_amount"] == 10 * PI and body["fee_pi"] == 1_000_100 and body["idr_amount"] == 14_849_985
    assert api.queue.of(body["id"]) == ["payments.approve"]

    detail = api.client.get(f"/v1/payments/{body['id']}", headers=bearer(key))
    assert detail.status_code == 200
    assert detail.json()["history"] == [] and detail.json()["status"] == "incomplete"


def test_createPayment_sameCallbackAgain_returnsSamePayment(api: Api) -> None:
    _, key = new_merchant(api.db)
    quote_id = api.quote(key)
    first = api.pay(key, quote_id, "piTwice1")
    before = api.counts()
    again = api.pay(key, quote_id, "piTwice1")
    assert again.status_code == 202
    assert again.json()["id"] == first.json()["id"]
    assert api.counts() == before
    # Re-queuing the approval is harmless (the step is idempotent) and recovers a lost message.
    assert api.queue.of(first.json()["id"]) == ["payments.approve", "payments.approve"]


def test_createPayment_idempotencyKey_replaysSameBody_and409sAnotherBody(api: Api) -> None:
    _, key = new_merchant(api.db)
    quote_id = api.quote(key)
    first = api.pay(key, quote_id, "piIdem1", **{"Idempotency-Key": "k-1"})
    assert first.status_code == 202
    before = api.counts()
    replay = api.pay(key, quote_id, "piIdem1", **{"Idempotency-Key": "k-1"})
    assert replay.status_code == 202 and replay.headers["Idempotent-Replayed"] == "true"
    assert replay.content == first.content
    other = api.pay(key, api.quote(key), "piIdem2", **{"Idempotency-Key": "k-1"})
    assert other.status_code == 409 and other.json()["error"] == "idempotency_key_reused"
    after = api.counts()
    assert {k: after[k] for k in ("payments", "payment_status_history", "api_idempotency_keys")} == {
        k: before[k] for k in ("payments", "payment_status_history", "api_idempotency_keys")
    }


def test_createPayment_badInput_isClearError_andChangesNothing(api: Api) -> None:
    merchant_id, key = new_merchant(api.db)
    _, other_key = new_merchant(api.db)
    quote_id = api.quote(key)
    expired_id = api.quote(key)
    with api.db.sessions.begin() as session:
        session.execute(
            update(Quote).where(Quote.id == uuid.UUID(expired_id)).values(expires_at=utcnow() - timedelta(1))
        )
    before = api.counts()
    headers = {**bearer(key), "Content-Type": "application/json"}
    cases: list[tuple[Any, int, str]] = [
        (api.pay(key, expired_id), 409, "quote_expired"),
        (api.pay(other_key, quote_id), 404, "quote_not_found"),  # another merchant's quote
        (api.pay(key, str(uuid.uuid4())), 404, "quote_not_found"),
        (api.pay("msc_" + "x" * 43, quote_id), 401, "unauthenticated"),  # unknown merchant key
        (api.pay(staff_key(api.db, Role.OPERATOR), quote_id), 403, "forbidden"),
        (api.client.post("/v1/payments", content=b'{"quote_id": ', headers=headers), 400, "invalid_json"),
        (
            api.client.post("/v1/payments", content=b"{" + b" " * 5000 + b"}", headers=headers),
            413,
            "payload_too_large",
        ),
        (api.pay(key, quote_id, "has spaces/and slashes"), 422, "validation_error"),
        (api.pay(key, "not-a-uuid"), 422, "validation_error"),
        (
            api.client.post(
                "/v1/payments",
                json={"quote_id": quote_id, "pi_payment_id": "p1", "amount": 5},
                headers=headers,
            ),
            422,
            "validation_error",
        ),
    ]
    for response, status, code in cases:
        assert (response.status_code, response.json()["error"]) == (status, code), response.text
        assert response.json()["message"]
    assert api.counts() == before
    assert not any(name for name, _ in api.queue.tasks if name == "payments.approve" and _ == (quote_id,))
    # The good request still works afterwards: nothing was half-done.
    assert api.pay(key, quote_id).status_code == 202
    assert merchant_id


def test_createPayment_quoteAlreadyUsedByAnotherPiPayment_is409(api: Api) -> None:
    _, key = new_merchant(api.db)
    quote_id = api.quote(key)
    assert api.pay(key, quote_id, "piQuoteA").status_code == 202
    before = api.counts()
    reused = api.pay(key, quote_id, "piQuoteB")
    assert reused.status_code == 409 and reused.json()["error"] == "quote_already_used"
    assert api.counts() == before


def test_createPayment_piPaymentRecordedForAnotherMerchant_isRefusedWithoutNamingIt(api: Api) -> None:
    """Merchant A presents a Pi payment merchant B recorded: refused like a Pi payment not bound to
    A (422), nothing changes, and nothing in the answer names B, its payment or its quote."""
    b_merchant, b_key = new_merchant(api.db)
    _, a_key = new_merchant(api.db)
    b_quote = api.quote(b_key)
    b_made = api.pay(b_key, b_quote, "piClaimed1").json()
    a_quote = api.quote(a_key)
    before = api.counts()
    for attempt in range(2):  # also with the Idempotency-Key path
        headers = {"Idempotency-Key": f"claim-{attempt}"} if attempt else {}
        claimed = api.pay(a_key, a_quote, "piClaimed1", **headers)
        assert claimed.status_code == 422, claimed.text
        assert claimed.json()["error"] == "pi_payment_not_bound"
        for secret in (b_made["id"], str(b_merchant), b_quote):
            assert secret not in claimed.text
    assert api.counts() == before
    assert api.queue.of(b_made["id"]) == ["payments.approve"]
    # A's quote is untouched and still pays a payment of A's own.
    assert api.pay(a_key, a_quote).status_code == 202


def test_anotherMerchantsPayment_is404_everywhere(api: Api) -> None:
    _, key = new_merchant(api.db)
    _, intruder = new_merchant(api.db)
    made = api.pay(key, api.quote(key), "piPrivate1").json()
    before = api.counts()
    for response in (
        api.client.get(f"/v1/payments/{made['id']}", headers=bearer(intruder)),
        api.client.post(f"/v1/payments/{made['id']}/cancel", headers=bearer(intruder)),
        api.client.post("/v1/pi/payments/piPrivate1/approve", headers=bearer(intruder)),
        api.client.post(
            "/v1/pi/payments/piPrivate1/complete", json={"txid": txid()}, headers=bearer(intruder)
        ),
    ):
        assert response.status_code == 404, response.text
        # Answered like an id that does not exist: nothing about the payment leaks.
        assert response.json()["error"] in ("payment_not_found", "pi_payment_not_found")
        assert "incomplete" not in response.text and str(made["quote_id"]) not in response.text
    missing = api.client.get(f"/v1/payments/{uuid.uuid4()}", headers=bearer(intruder))
    assert missing.status_code == 404 and missing.json()["error"] == "payment_not_found"
    assert api.counts() == before
    assert api.queue.of(made["id"]) == ["payments.approve"]


def test_listPayments_merchantSeesOwnOnly_staffSeeAll_paged(api: Api) -> None:
    _, key = new_merchant(api.db)
    _, other = new_merchant(api.db)
    mine = {api.pay(key, api.quote(key)).json()["id"] for _ in range(3)}
    theirs = api.pay(other, api.quote(other)).json()["id"]
    api.move(sorted(mine)[0], PaymentStatus.EXPIRED)

    first = api.client.get("/v1/payments?limit=2", headers=bearer(key)).json()
    assert len(first["items"]) == 2 and first["next_offset"] == 2
    rest = api.client.get("/v1/payments?limit=2&offset=2", headers=bearer(key)).json()
    assert rest["next_offset"] is None
    assert {p["id"] for p in first["items"] + rest["items"]} == mine
    expired = api.client.get("/v1/payments?status=expired", headers=bearer(key)).json()["items"]
    assert [p["id"] for p in expired] == [sorted(mine)[0]]

    auditor = bearer(staff_key(api.db, Role.AUDITOR))
    everyone = api.client.get("/v1/payments?limit=200", headers=auditor).json()["items"]
    assert theirs in {p["id"] for p in everyone}
    bad = api.client.get("/v1/payments?limit=0&status=paid", headers=bearer(key))
    assert bad.status_code == 422 and {f["field"] for f in bad.json()["details"]["fields"]} == {
        "limit",
        "status",
    }


def test_cancel_beforePi_queuesExpiry_expiredIsNoop_afterTxidIs409(api: Api) -> None:
    _, key = new_merchant(api.db)
    made = api.pay(key, api.quote(key), "piCancel1").json()
    before = api.counts()
    cancelled = api.client.post(f"/v1/payments/{made['id']}/cancel", headers=bearer(key))
    # Cancelled on Pi first by the worker (tests/settlement/workers), so the customer cannot pay it.
    assert cancelled.status_code == 202 and cancelled.json()["queued"] == "payments.expire"
    assert cancelled.json()["status"] == "incomplete" and api.counts() == before
    assert api.queue.of(made["id"]) == ["payments.approve", "payments.expire"]
    api.move(made["id"], PaymentStatus.EXPIRED)
    again = api.client.post(f"/v1/payments/{made['id']}/cancel", headers=bearer(key))
    assert again.status_code == 202 and again.json()["status"] == "expired" and again.json()["queued"] is None
    assert api.queue.of(made["id"]) == ["payments.approve", "payments.expire"]

    paid = api.pay(key, api.quote(key), "piCancel2").json()
    api.move(paid["id"], PaymentStatus.PENDING_USER_TRANSFER_START)
    assert (
        api.client.post(
            "/v1/pi/payments/piCancel2/complete", json={"txid": txid()}, headers=bearer(key)
        ).status_code
        == 202
    )
    before = api.counts()
    refused = api.client.post(f"/v1/payments/{paid['id']}/cancel", headers=bearer(key))
    assert refused.status_code == 409 and refused.json()["error"] == "payment_not_cancellable"
    assert "pending_anchor" in refused.json()["message"]
    assert api.counts() == before
