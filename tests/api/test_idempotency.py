"""Idempotency-Key: replay identical, conflict on a different body, one execution under a race."""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import func, select

import api.idempotency as idempotency_module
from api.auth import hash_key
from api.idempotency import request_hash
from api.models import ApiKey, IdempotencyRecord, Merchant, Role
from common.sql.helpers import utcnow
from market.service import MarketService
from market.store import MarketStore
from settlement.quotes.rates import Rate
from tests.api.support import Harness, MakeApi, bearer, new_merchant, staff_key

QUOTE = {"sell_asset": "PI", "buy_asset": "IDR", "sell_amount": 25 * 10**7}


class SlowCountingRates:
    """A fixed rate that takes a while to answer and counts its calls (to widen races)."""

    def __init__(self, delay: float) -> None:
        self.delay = delay
        self.calls = 0
        self._lock = threading.Lock()

    def current_rate(self) -> Rate:
        with self._lock:
            self.calls += 1
        time.sleep(self.delay)
        return Rate(Decimal("15000"), "slow-fixed", utcnow())


def test_sameKeyAndBody_replaysTheStoredResponse(api: Harness) -> None:
    _, key = new_merchant(api.db)
    headers = {**bearer(key), "Idempotency-Key": "order-1"}
    first = api.client.post("/v1/quotes", json=QUOTE, headers=headers)
    before = api.db.counts()
    # Same JSON with other spacing and key order is the same request.
    again = api.client.post(
        "/v1/quotes",
        content=b'{ "sell_amount": 250000000, "buy_asset": "IDR", "sell_asset": "PI" }',
        headers={**headers, "Content-Type": "application/json"},
    )
    assert first.status_code == again.status_code == 201
    assert again.content == first.content
    assert again.headers["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first.headers
    assert api.db.counts() == before


def test_sameKeyDifferentBody_is409_andChangesNothing(api: Harness) -> None:
    _, key = new_merchant(api.db)
    headers = {**bearer(key), "Idempotency-Key": "order-2"}
    assert api.client.post("/v1/quotes", json=QUOTE, headers=headers).status_code == 201
    before = api.db.counts()
    response = api.client.post("/v1/quotes", json={**QUOTE, "sell_amount": 26 * 10**7}, headers=headers)
    assert response.status_code == 409
    assert response.json()["error"] == "idempotency_key_reused"
    assert api.db.counts() == before


def test_keys_areScopedPerApiKey(api: Harness) -> None:
    _, alice = new_merchant(api.db)
    _, bob = new_merchant(api.db)
    a = api.client.post("/v1/quotes", json=QUOTE, headers={**bearer(alice), "Idempotency-Key": "shared"})
    b = api.client.post("/v1/quotes", json=QUOTE, headers={**bearer(bob), "Idempotency-Key": "shared"})
    assert a.status_code == b.status_code == 201
    assert a.json()["id"] != b.json()["id"]


def test_failedRequest_leavesNoRecord_soTheKeyCanBeRetried(api: Harness) -> None:
    _, key = new_merchant(api.db)
    headers = {**bearer(key), "Idempotency-Key": "retry-me"}
    too_small = api.client.post("/v1/quotes", json={**QUOTE, "sell_amount": 50}, headers=headers)
    assert too_small.status_code == 422
    with api.db.sessions() as session:
        count = session.scalar(select(func.count()).where(IdempotencyRecord.key == "retry-me"))
    assert count == 0
    assert api.client.post("/v1/quotes", json=QUOTE, headers=headers).status_code == 201


def test_merchantOnboardingReplay_neverRevealsTheKeyAgain(api: Harness) -> None:
    operator = staff_key(api.db, Role.OPERATOR)
    body = {
        "name": "Warung Replay",
        "kelurahan": "Kartoharjo",
        "evm_address": "0x" + "cd" * 20,
        "pi_username": f"replay_{api.db.backend}",
    }
    headers = {**bearer(operator), "Idempotency-Key": f"onboard-{api.db.backend}"}
    first = api.client.post("/v1/merchants", json=body, headers=headers)
    again = api.client.post("/v1/merchants", json=body, headers=headers)
    assert first.status_code == again.status_code == 201
    assert first.json()["api_key"].startswith("msc_")
    assert again.json() == {**first.json(), "api_key": None}
    with api.db.sessions() as session:
        stored = session.scalars(select(IdempotencyRecord.response_body)).all()
    assert not any(first.json()["api_key"] in (text or "") for text in stored)


def test_invalidIdempotencyKey_is400(api: Harness) -> None:
    _, key = new_merchant(api.db)
    response = api.client.post("/v1/quotes", json=QUOTE, headers={**bearer(key), "Idempotency-Key": ""})
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_idempotency_key"


def test_concurrentDuplicates_executeOnce(make_api: MakeApi) -> None:
    rates = SlowCountingRates(delay=0.4)
    api = make_api(rate_source=rates)
    _, key = new_merchant(api.db)
    before = api.db.counts()
    headers = {**bearer(key), "Idempotency-Key": "race-1"}

    sent: list[float] = []
    answered: list[float] = []

    def post() -> tuple[int, bytes, str | None]:
        sent.append(time.perf_counter())
        response = api.client.post("/v1/quotes", json=QUOTE, headers=headers)
        answered.append(time.perf_counter())
        return response.status_code, response.content, response.headers.get("Idempotent-Replayed")

    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(lambda _: post(), range(4)))

    assert max(sent) < min(answered)  # the duplicates really overlapped the first request
    assert rates.calls == 1
    assert {status for status, _, _ in results} == {201}
    assert len({content for _, content, _ in results}) == 1
    assert sorted(replayed or "" for _, _, replayed in results) == ["", "true", "true", "true"]
    after = api.db.counts()
    assert after["quotes"] == before["quotes"] + 1
    assert after["api_idempotency_keys"] == before["api_idempotency_keys"] + 1


class SlowMarket(MarketService):
    """A market without chain checks whose matching takes a while and is counted (to widen races)."""

    def __init__(self, store: MarketStore, delay: float) -> None:
        super().__init__(store, None)
        self.delay = delay
        self.matched = 0

    def _run(self, op: Any, **kwargs: Any) -> Any:
        def slow() -> Any:
            self.matched += 1
            time.sleep(self.delay)
            return op()

        return super()._run(slow, **kwargs)


def _market_order(api: Harness) -> tuple[str, dict[str, Any], SlowMarket]:
    merchant_id, key = new_merchant(api.db)
    with api.db.sessions() as session:
        trader = session.get(Merchant, merchant_id).evm_address  # type: ignore[union-attr]
    market = SlowMarket(MarketStore(api.db.sessions), delay=0.3)
    market.set_reference_price(77, 100_000)
    api.client.app.state.market = market  # type: ignore[attr-defined]
    order = {
        "trader": trader,
        "side": "buy",
        "token_id": 77,
        "amount": 3,
        "price": 100_000,
        "expiry": int(time.time()) + 3600,
        "salt": int(uuid.uuid4()),
        "nonce": 0,
    }
    return key, {"order": order, "signature": "0x" + "11" * 65}, market


def _race(post: Callable[[], Any], n: int = 10) -> list[Any]:
    start = threading.Barrier(n)

    def one(_: int) -> Any:
        start.wait()
        return post()

    with ThreadPoolExecutor(max_workers=n) as pool:
        return list(pool.map(one, range(n)))


def test_tenConcurrentMarketOrders_withOneKey_replayTheFirstAnswer(api: Harness) -> None:
    key, body, market = _market_order(api)
    headers = {**bearer(key), "Idempotency-Key": f"order-{uuid.uuid4()}"}
    matched_before = market.matched
    results = _race(lambda: api.client.post("/v1/market/orders", json=body, headers=headers))
    assert [r.status_code for r in results] == [201] * 10, [r.text for r in results]
    assert len({r.content for r in results}) == 1  # byte for byte the first answer
    assert sorted(r.headers.get("Idempotent-Replayed", "") for r in results) == [""] + ["true"] * 9
    assert market.matched == matched_before + 1
    with api.db.sessions() as session:
        records = session.scalars(
            select(IdempotencyRecord).where(IdempotencyRecord.key == headers["Idempotency-Key"])
        ).all()
    assert len(records) == 1 and records[0].response_status == 201
    # A different body under the same key is still a conflict.
    other = {**body, "order": {**body["order"], "amount": 4}}
    reused = api.client.post("/v1/market/orders", json=other, headers=headers)
    assert reused.status_code == 409 and reused.json()["error"] == "idempotency_key_reused"


def test_tenConcurrentIdenticalOrders_withoutAKey_areReplays_notDuplicateOrder(api: Harness) -> None:
    key, body, _ = _market_order(api)
    results = _race(lambda: api.client.post("/v1/market/orders", json=body, headers=bearer(key)))
    assert sorted(r.status_code for r in results) == [200] * 9 + [201], [r.text for r in results]
    assert {r.json()["order"]["order_id"] for r in results} == {results[0].json()["order"]["order_id"]}
    assert sum(r.json()["replayed"] for r in results) == 9


def test_aFailedMarketOrder_releasesItsKey(api: Harness) -> None:
    key, body, _ = _market_order(api)
    headers = {**bearer(key), "Idempotency-Key": f"order-{uuid.uuid4()}"}
    outside_band = {**body, "order": {**body["order"], "price": 10**12}}
    refused = api.client.post("/v1/market/orders", json=outside_band, headers=headers)
    assert refused.status_code == 422, refused.text
    with api.db.sessions() as session:
        assert (
            session.scalars(
                select(IdempotencyRecord).where(IdempotencyRecord.key == headers["Idempotency-Key"])
            ).all()
            == []
        )
    # The key was released: the caller may retry it (here with a corrected order).
    fixed = api.client.post("/v1/market/orders", json=body, headers=headers)
    assert fixed.status_code == 201, fixed.text


def _pending_claim(api: Harness, secret: str, key: str, body: dict[str, Any], age: timedelta) -> None:
    """A claim left unanswered (its process died, or is still running), ``age`` old."""
    with api.db.sessions.begin() as session:
        api_key = session.scalars(select(ApiKey).where(ApiKey.key_hash == hash_key(secret))).first()
        assert api_key is not None
        session.add(
            IdempotencyRecord(
                api_key_id=api_key.id,
                key=key,
                request_hash=request_hash("POST", "/v1/market/orders", json.dumps(body).encode()),
                created_at=utcnow() - age,
            )
        )


def test_aMarketOrderClaim_stillRunning_isInProgress_andADeadOne_isTakenOver(
    api: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(idempotency_module, "CLAIM_WAIT_SECONDS", 0.3)
    key, body, _ = _market_order(api)
    running = f"order-{uuid.uuid4()}"
    _pending_claim(api, key, running, body, timedelta(seconds=1))
    waited = api.client.post(
        "/v1/market/orders", json=body, headers={**bearer(key), "Idempotency-Key": running}
    )
    assert waited.status_code == 409 and waited.json()["error"] == "idempotency_in_progress"
    dead = f"order-{uuid.uuid4()}"
    _pending_claim(api, key, dead, body, idempotency_module.STALE_CLAIM + timedelta(seconds=5))
    taken = api.client.post("/v1/market/orders", json=body, headers={**bearer(key), "Idempotency-Key": dead})
    assert taken.status_code == 201, taken.text
    again = api.client.post("/v1/market/orders", json=body, headers={**bearer(key), "Idempotency-Key": dead})
    assert again.content == taken.content and again.headers["Idempotent-Replayed"] == "true"
