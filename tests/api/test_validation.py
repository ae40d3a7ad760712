"""Bad input: 400 for malformed JSON, 422 naming the fields, 413 for big bodies; never a state change."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator

from api.body_limit import BodySizeLimitMiddleware
from api.models import Role
from tests.api.support import Harness, MakeApi, bearer, new_merchant, staff_key


def test_malformedJson_is400InvalidJson_andChangesNothing(api: Harness) -> None:
    _, key = new_merchant(api.db)
    before = api.db.counts()
    headers = {**bearer(key), "Content-Type": "application/json", "Idempotency-Key": "k-malformed"}
    for payload in (b'{"sell_amount": 1', b"\xff\xfe{", b"{'a': 1}"):
        response = api.client.post("/v1/quotes", content=payload, headers=headers)
        assert response.status_code == 400, payload
        assert response.json()["error"] == "invalid_json"
        assert set(response.json()) <= {"error", "message", "details"}
    assert api.db.counts() == before


def test_wrongTypes_are422NamingEachField_andChangeNothing(api: Harness) -> None:
    _, key = new_merchant(api.db)
    before = api.db.counts()
    response = api.client.post(
        "/v1/quotes",
        json={"sell_amount": "1000", "buy_amount": 1.5, "surprise": True},
        headers={**bearer(key), "Idempotency-Key": "k-types"},
    )
    assert response.status_code == 422
    body = response.json()
    assert body["error"] == "validation_error"
    fields = {problem["field"] for problem in body["details"]["fields"]}
    assert fields == {"sell_amount", "buy_amount", "surprise"}
    assert all(problem["location"] == "body" for problem in body["details"]["fields"])
    assert api.db.counts() == before


def test_badMerchantAddress_is422_andChangesNothing(api: Harness) -> None:
    operator = staff_key(api.db, Role.OPERATOR)
    before = api.db.counts()
    bad_checksum = "0x5fbDB2315678afecb367f032d93F642f64180aa3"
    for address in (bad_checksum, "0x1234", "not an address"):
        body = {"name": "Warung", "kelurahan": "Taman", "evm_address": address, "pi_username": "sri"}
        response = api.client.post("/v1/merchants", json=body, headers=bearer(operator))
        assert response.status_code == 422, address
        assert [p["field"] for p in response.json()["details"]["fields"]] == ["evm_address"]
    assert api.db.counts() == before


def test_serviceRefusal_is422FromTheDomainError(api: Harness) -> None:
    _, key = new_merchant(api.db)
    before = api.db.counts()
    both = {"sell_amount": 10**8, "buy_amount": 10**5}
    response = api.client.post("/v1/quotes", json=both, headers=bearer(key))
    assert response.status_code == 422
    assert response.json()["error"] == "validation_error"
    unsupported = api.client.post(
        "/v1/quotes", json={"sell_asset": "BTC", "sell_amount": 5}, headers=bearer(key)
    )
    assert unsupported.status_code == 422
    assert api.db.counts() == before


def test_oversizedBody_is413_byContentLength_andByStreamedBytes(make_api: MakeApi) -> None:
    api = make_api(max_body_bytes=1024)
    _, key = new_merchant(api.db)
    before = api.db.counts()
    big = json.dumps({"sell_amount": 10**8, "pad": "x" * 2000}).encode()
    declared = api.client.post(
        "/v1/quotes", content=big, headers={**bearer(key), "Content-Type": "application/json"}
    )
    assert declared.status_code == 413
    assert declared.json()["error"] == "payload_too_large"

    def chunks() -> Iterator[bytes]:  # no Content-Length: the bytes are counted as they arrive
        yield big[:600]
        yield big[600:]

    streamed = api.client.post(
        "/v1/quotes", content=chunks(), headers={**bearer(key), "Content-Type": "application/json"}
    )
    assert "content-length" not in {k.lower() for k in streamed.request.headers}
    assert streamed.status_code == 413
    assert api.db.counts() == before


def test_bodyLimit_countsStreamedChunks_evenWhenContentLengthLies() -> None:
    called = False

    async def app(scope: object, receive: object, send: object) -> None:
        nonlocal called
        called = True

    sent: list[dict[str, object]] = []
    messages = iter(
        [
            {"type": "http.request", "body": b"x" * 60, "more_body": True},
            {"type": "http.request", "body": b"x" * 60, "more_body": False},
        ]
    )

    async def receive() -> dict[str, object]:
        return next(messages)

    async def send(message: dict[str, object]) -> None:
        sent.append(message)

    scope = {"type": "http", "method": "POST", "path": "/", "headers": [(b"content-length", b"10")]}
    asyncio.run(BodySizeLimitMiddleware(app, max_bytes=100)(scope, receive, send))  # type: ignore[arg-type]
    assert not called
    assert sent[0]["status"] == 413


def test_unknownRoute_and_wrongMethod_useTheEnvelope(api: Harness) -> None:
    missing = api.client.get("/v1/nothing-here")
    assert missing.status_code == 404
    assert missing.json()["error"] == "not_found"
    wrong = api.client.delete("/v1/quotes")
    assert wrong.status_code == 405
    assert wrong.json()["error"] == "method_not_allowed"


def test_badPathParameter_is422_not500(api: Harness) -> None:
    key = staff_key(api.db, Role.OPERATOR)
    response = api.client.get("/v1/quotes/not-a-uuid", headers=bearer(key))
    assert response.status_code == 422
    assert response.json()["details"]["fields"][0] == {
        "field": "quote_id",
        "location": "path",
        "problem": response.json()["details"]["fields"][0]["problem"],
        "type": "uuid_parsing",
    }


def test_invalidContentLength_is400(api: Harness) -> None:
    response = api.client.post("/v1/quotes", content=b"{}", headers={"Content-Length": "abc"})
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_content_length"


def test_unexpectedException_is500Envelope_withoutLeakingIt(api: Harness) -> None:
    app = api.client.app

    @app.get("/boom")  # type: ignore[attr-defined, untyped-decorator]
    def boom() -> None:
        raise RuntimeError("secret internals")

    response = api.client.get("/boom")
    assert response.status_code == 500
    assert response.json()["error"] == "internal_error"
    assert "secret" not in response.text
