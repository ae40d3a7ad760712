"""Bad input: 400 for malformed JSON, 422 naming the fields, 413 for big bodies; never a state change."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Callable, Iterator
from typing import Any

from fastapi.routing import APIRoute
from pydantic import BaseModel
from pydantic import ValidationError as PydanticValidationError

from api.body_limit import BodySizeLimitMiddleware
from api.models import Role
from market.service import MarketService
from market.store import MarketStore
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


# -- strict integers and clean text in every request body ------------------------------------------------

NOT_INTEGERS = (True, False, "100", 1.0, 100.0, "1e2", [1], {"v": 1})


def _stubbed(api: Harness) -> None:
    """Stand-ins for the chain-backed services: a body refused by validation never reaches them."""
    state = api.client.app.state  # type: ignore[attr-defined]
    state.market = MarketService(MarketStore(api.db.sessions), None)
    state.carbon = state.redemptions = object()


def _fields(response: Any) -> set[str]:
    assert response.status_code == 422, response.text
    assert response.json()["error"] == "validation_error"
    return {problem["field"] for problem in response.json()["details"]["fields"]}


def test_referencePrice_takesOnlyAStrictInteger_inRange(api: Harness) -> None:
    _stubbed(api)
    operator = bearer(staff_key(api.db, Role.OPERATOR))
    for price in (*NOT_INTEGERS, 0, -1, 2**63, 10**30):
        response = api.client.put("/v1/market/references/7", json={"price": price}, headers=operator)
        assert _fields(response) == {"price"}, price
    assert api.client.put("/v1/market/references/7", json={"price": 100}, headers=operator).status_code == 204
    book = api.client.app.state.market.engine  # type: ignore[attr-defined]
    assert book.safeguards.references[7].price == 100


def test_moneyAndQuantities_refuseBooleansNumericStringsFloatsAndOutOfRange(api: Harness) -> None:
    _stubbed(api)
    merchant_id, merchant = new_merchant(api.db)
    operator = bearer(staff_key(api.db, Role.OPERATOR))
    retirement = {
        "token_id": 1,
        "tonnes": 1,
        "beneficiary": "0x" + "11" * 20,
        "beneficiary_name": "Kota Madiun",
        "reason": "offset",
        "period_start": 1,
        "period_end": 2,
        "acknowledge_public_beneficiary": True,
    }
    order = {
        "trader": "0x" + "22" * 20,
        "side": "buy",
        "token_id": 1,
        "amount": 1,
        "price": 1,
        "expiry": 1,
        "salt": 1,
        "nonce": 0,
    }
    authorization = {
        "valid_after": 0,
        "valid_before": 1,
        "nonce": "0x" + "00" * 32,
        "signature": "0x" + "00" * 65,
    }
    cases: list[tuple[str, str, dict[str, str], Callable[[Any], dict[str, Any]], str, Any]] = [
        ("post", "/v1/quotes", bearer(merchant), lambda v: {"sell_amount": v}, "sell_amount", 2**63),
        ("post", "/v1/quotes", bearer(merchant), lambda v: {"buy_amount": v}, "buy_amount", 2**63),
        (
            "post",
            "/v1/carbon/retirements/custodial",
            operator,
            lambda v: {**retirement, "tonnes": v},
            "tonnes",
            2**64,
        ),
        (
            "post",
            "/v1/carbon/retirements/custodial",
            operator,
            lambda v: {**retirement, "token_id": v},
            "token_id",
            2**256,
        ),
        (
            "post",
            "/v1/carbon/retirements/custodial",
            operator,
            lambda v: {**retirement, "period_end": v},
            "period_end",
            2**40,
        ),
        (
            "post",
            "/v1/redemptions",
            {**bearer(merchant), "Idempotency-Key": "strict"},
            lambda v: {"amount": v, "bank_account": "BCA 123", "authorization": authorization},
            "amount",
            2**63,
        ),
        (
            "post",
            "/v1/redemptions",
            {**bearer(merchant), "Idempotency-Key": "strict"},
            lambda v: {
                "amount": 1,
                "bank_account": "BCA 123",
                "authorization": {**authorization, "valid_before": v},
            },
            "authorization.valid_before",
            2**63,
        ),
        (
            "post",
            "/v1/market/orders",
            bearer(merchant),
            lambda v: {"order": {**order, "amount": v}, "signature": "0x" + "00" * 65},
            "order.amount",
            2**63,
        ),
        (
            "post",
            "/v1/market/orders",
            bearer(merchant),
            lambda v: {"order": {**order, "price": v}, "signature": "0x" + "00" * 65},
            "order.price",
            2**63,
        ),
        (
            "post",
            "/v1/market/orders",
            bearer(merchant),
            lambda v: {"order": {**order, "nonce": v}, "signature": "0x" + "00" * 65},
            "order.nonce",
            2**256,
        ),
        (
            "post",
            f"/v1/webhooks/endpoints/{merchant_id}/rotate-secret",
            bearer(merchant),
            lambda v: {"grace_period_s": v},
            "grace_period_s",
            2**63,
        ),
    ]
    before = api.db.counts()
    for method, path, headers, body, field, too_big in cases:
        for value in (*NOT_INTEGERS, -1, too_big):
            response = api.client.request(method, path, json=body(value), headers=headers)
            assert field in _fields(response), (path, field, value, response.text)
    assert api.db.counts() == before


BAD_TEXT = [
    "a\u0000b",  # NUL
    "a\u0007b",  # C0 BEL
    "line\nbreak",  # C0 LF inside a one-line field
    "a\u007fb",  # DEL
    "a\u0085b",  # C1 NEL
    "a\u009bb",  # C1 CSI
    "pay\u202eexe.txt",  # right-to-left override
    "a\u202ab",
    "a\u2066b\u2069",  # isolates
    "a\u200eb",  # left-to-right mark
    "a\u200fb",
    "a\u2028b",  # line separator
]


def test_freeText_refusesControlsAndBidiOverrides_everywhere(api: Harness) -> None:
    _stubbed(api)
    _, merchant = new_merchant(api.db)
    operator = bearer(staff_key(api.db, Role.OPERATOR))
    payout = "00000000-0000-0000-0000-000000000001"
    retirement = {
        "token_id": 1,
        "tonnes": 1,
        "beneficiary": "0x" + "11" * 20,
        "beneficiary_name": "Kota Madiun",
        "reason": "offset",
        "period_start": 1,
        "period_end": 2,
        "acknowledge_public_beneficiary": True,
    }
    merchant_body = {
        "name": "Warung",
        "kelurahan": "Taman",
        "evm_address": "0x" + "33" * 20,
        "pi_username": "sri",
    }
    cases: list[tuple[str, dict[str, str], Callable[[str], dict[str, Any]], str]] = [
        ("/v1/merchants", operator, lambda t: {**merchant_body, "name": t}, "name"),
        ("/v1/merchants", operator, lambda t: {**merchant_body, "kelurahan": t}, "kelurahan"),
        (
            "/v1/webhooks/endpoints",
            bearer(merchant),
            lambda t: {"url": "https://example.org/h", "event_types": ["payment.settled"], "description": t},
            "description",
        ),
        (f"/v1/redemptions/{payout}/paid", operator, lambda t: {"bank_reference": t}, "bank_reference"),
        (f"/v1/redemptions/{payout}/failed", operator, lambda t: {"reason": t}, "reason"),
        (
            "/v1/redemptions",
            {**bearer(merchant), "Idempotency-Key": "t"},
            lambda t: {"bank_account": t},
            "bank_account",
        ),
        (
            "/v1/carbon/retirements/custodial",
            operator,
            lambda t: {**retirement, "beneficiary_name": t},
            "beneficiary_name",
        ),
        ("/v1/carbon/retirements/custodial", operator, lambda t: {**retirement, "reason": t}, "reason"),
        ("/v1/quotes", bearer(merchant), lambda t: {"sell_asset": t, "sell_amount": 1}, "sell_asset"),
    ]
    before = api.db.counts()
    for path, headers, body, field in cases:
        for text in BAD_TEXT:
            response = api.client.post(path, json=body(text), headers=headers)
            fields = _fields(response)
            assert field in fields, (path, repr(text), response.text)
    assert api.db.counts() == before


def test_freeText_isNfcNormalised_andLimitedInCodePoints(api: Harness) -> None:
    operator = bearer(staff_key(api.db, Role.OPERATOR))
    decomposed = "Warung Cafe\u0301"  # e + combining acute: NFC makes it one code point
    body = {
        "name": decomposed,
        "kelurahan": "Taman",
        "evm_address": "0x" + uuid.uuid4().hex + uuid.uuid4().hex[:8],
        "pi_username": f"pi_{uuid.uuid4().hex[:12]}",
    }
    made = api.client.post("/v1/merchants", json=body, headers=operator)
    assert made.status_code == 201, made.text
    assert made.json()["merchant"]["name"] == "Warung Caf\u00e9"
    # 200 code points of a 4-byte character are fine (the limit is in characters, not bytes) ...
    long_ok = {**body, "name": "\U0001f600" * 200, "evm_address": "0x" + "44" * 20, "pi_username": "long_ok"}
    assert api.client.post("/v1/merchants", json=long_ok, headers=operator).status_code == 201
    # ... 201 are not.
    too_long = {**body, "name": "x" * 201, "evm_address": "0x" + "55" * 20, "pi_username": "too_long"}
    assert _fields(api.client.post("/v1/merchants", json=too_long, headers=operator)) == {"name"}


def _request_body_models(app: Any) -> list[type[BaseModel]]:
    """The pydantic models of every route's JSON body (routers included by the app too)."""
    models: list[type[BaseModel]] = []
    pending = list(app.routes)
    while pending:
        route = pending.pop()
        included = getattr(route, "original_router", None)
        if included is not None:
            pending.extend(included.routes)
        elif isinstance(route, APIRoute):
            for param in route.dependant.body_params:
                annotation = param.field_info.annotation
                if isinstance(annotation, type) and issubclass(annotation, BaseModel):
                    models.append(annotation)
    return models


def _probes(model: type[BaseModel]) -> Iterator[tuple[tuple[str, ...], str, Any]]:
    """(path, kind, bad value) for every integer and every free-text field of ``model``, nested too."""
    schema = model.model_json_schema()
    defs = schema.get("$defs", {})

    def walk(node: dict[str, Any], path: tuple[str, ...]) -> Iterator[tuple[tuple[str, ...], str, Any]]:
        for name, prop in node.get("properties", {}).items():
            options = prop.get("anyOf", [prop])
            for option in options:
                if "$ref" in option:
                    yield from walk(defs[option["$ref"].split("/")[-1]], (*path, name))
                elif option.get("type") == "integer":
                    for bad in (True, "1", 1.0):
                        yield (*path, name), "integer", bad
                    # Every bound the schema shows is enforced (a narrower bound is not lost to the type's).
                    if "maximum" in option:
                        yield (*path, name), "above maximum", option["maximum"] + 1
                    if "minimum" in option:
                        yield (*path, name), "below minimum", option["minimum"] - 1
                    if "exclusiveMinimum" in option:
                        yield (*path, name), "at exclusive minimum", option["exclusiveMinimum"]
                elif option.get("type") == "string" and not {"pattern", "format", "enum", "const"} & set(
                    option
                ):
                    for bad in BAD_TEXT:
                        yield (*path, name), "text", bad

    yield from walk(schema, ())


def test_everyRequestBody_hasStrictIntegers_andCleanText(api: Harness) -> None:
    """Closes the class: any integer or free-text field a request body gains later is checked too."""
    checked = 0
    for model in _request_body_models(api.client.app):
        for path, kind, bad in _probes(model):
            body: dict[str, Any] = {}
            node = body
            for part in path[:-1]:
                node = node.setdefault(part, {})
            node[path[-1]] = bad
            try:
                model.model_validate_json(json.dumps(body))
            except PydanticValidationError as exc:
                locations = {tuple(str(p) for p in error["loc"]) for error in exc.errors()}
                assert path in locations, (model.__name__, path, kind, bad)
            else:
                raise AssertionError(f"{model.__name__}.{'.'.join(path)} accepted {bad!r}")
            checked += 1
    assert checked > 100


def test_openApiSchema_loadsWithTheStrictTypes(api: Harness) -> None:
    schema = api.client.get("/openapi.json").json()
    price = schema["components"]["schemas"]["ReferenceSet"]["properties"]["price"]
    # FastAPI's OpenAPI model holds bounds as floats: 2**63 - 1 is shown rounded to 2.0**63.
    assert (
        price["type"] == "integer" and price["exclusiveMinimum"] == 0 and price["maximum"] == float(2**63 - 1)
    )
    name = schema["components"]["schemas"]["MerchantCreate"]["properties"]["name"]
    assert name["maxLength"] == 200
