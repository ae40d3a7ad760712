"""/healthz, /metrics and the OpenAPI document."""

from __future__ import annotations

import re

from api.models import Role
from tests.api.support import Harness, bearer, staff_key


def test_healthz(api: Harness) -> None:
    response = api.client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok"}


def test_metrics_countRequestsByRouteTemplateAndStatus(api: Harness) -> None:
    key = staff_key(api.db, Role.AUDITOR)
    api.client.get("/v1/quotes/00000000-0000-0000-0000-000000000001", headers=bearer(key))
    api.client.get("/v1/quotes/00000000-0000-0000-0000-000000000002", headers=bearer(key))
    api.client.get("/healthz")
    api.client.get("/no/such/route")
    response = api.client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    text = response.text
    assert 'msc_api_requests_total{method="GET",route="/v1/quotes/{quote_id}",status="404"} 2.0' in text
    assert 'msc_api_requests_total{method="GET",route="/healthz",status="200"} 1.0' in text
    assert 'route="<unmatched>",status="404"' in text
    assert re.search(r'msc_api_request_duration_seconds_bucket\{le="0.5",method="GET",route="/healthz"', text)
    assert "00000000-0000-0000-0000-000000000001" not in text


def test_openapi_documentsEveryModelAndTheMoneyConvention(api: Harness) -> None:
    assert api.client.get("/docs").status_code == 200
    spec = api.client.get("/openapi.json").json()
    assert {
        "/v1/quotes",
        "/v1/quotes/{quote_id}",
        "/v1/merchants",
        "/v1/merchants/me",
        "/v1/wallets/contracts",
        "/healthz",
    } <= set(spec["paths"])
    schemas = spec["components"]["schemas"]
    for name in (
        "QuoteRequest",
        "QuoteResponse",
        "MerchantCreate",
        "MerchantCreated",
        "ContractsRead",
        "ErrorResponse",
    ):
        assert schemas[name].get("description"), name
    assert "HTTPValidationError" not in schemas  # 422 uses the platform's envelope
    assert "minor units" in schemas["QuoteResponse"]["properties"]["minor_units"]["description"]
    assert "decimal string" in schemas["QuoteResponse"]["properties"]["sell_amount"]["description"]
    post = spec["paths"]["/v1/quotes"]["post"]
    assert "Idempotency-Key" in {p["name"] for p in post["parameters"]}
    assert post["responses"]["422"]["content"]["application/json"]["schema"]["$ref"].endswith("ErrorResponse")
