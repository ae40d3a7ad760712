"""``/v1/webhooks``: a merchant manages endpoints and secrets over the API, and what the API set up
is delivered to a real local receiver that verifies the signatures with the secrets the API gave.

Endpoints that must never receive anything point at 127.0.0.1:9 (nothing listens: refused at once).
The app admits loopback targets by its development setting (``MSC_WEBHOOK_ALLOW_PRIVATE_TARGETS``)
because the receiver listens there; the SSRF tests use apps without it. No test resolves a real
name or connects anywhere but 127.0.0.1: names go to an injected resolver.
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime

import httpx
import pytest
from sqlalchemy import func, select

from api.models import Role
from settlement.webhooks import WebhookDispatcher, emit
from settlement.webhooks.models import WebhookEndpoint, WebhookSecret
from settlement.webhooks.targets import TargetPolicy
from tests.api.support import Harness, MakeApi, bearer, new_merchant, staff_key
from tests.settlement.webhooks.support import Clock, Receiver, serve

EVENTS = ["payment.completed", "payout.paid"]
FAKE_DNS = {
    "hooks.warung.example": ["93.184.216.34"],
    "rebind.warung.example": ["127.0.0.1"],
    "inside.warung.example": ["93.184.216.34", "10.0.0.5"],
}


def fake_resolver(looked_up: list[str]) -> Callable[[str, int], list[str]]:
    """A resolver answering from ``FAKE_DNS`` and recording what it was asked."""

    def resolve(host: str, port: int) -> list[str]:
        looked_up.append(host)
        if host not in FAKE_DNS:
            raise OSError(f"{host}: no such name")
        return FAKE_DNS[host]

    return resolve


@pytest.fixture
def api(make_api: MakeApi) -> Harness:
    """An app that admits loopback webhook targets (development setting): the receiver is local."""
    return make_api(webhook_allow_private_targets=True)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    yield from serve(Receiver(Clock(datetime.now(UTC))))  # the dispatcher below uses the real clock


def _counts(api: Harness) -> tuple[int, int]:
    with api.db.sessions() as session:
        endpoints = session.scalar(select(func.count()).select_from(WebhookEndpoint)) or 0
        secrets = session.scalar(select(func.count()).select_from(WebhookSecret)) or 0
    return endpoints, secrets


def test_endpoint_lifecycle_and_delivery_verified_with_the_api_secrets(
    api: Harness, receiver: Receiver
) -> None:
    merchant_id, key = new_merchant(api.db)
    auth = bearer(key)
    made = api.client.post(
        "/v1/webhooks/endpoints",
        json={"url": receiver.url, "event_types": EVENTS, "description": "kasir"},
        headers={**auth, "Idempotency-Key": "wh-1"},
    )
    assert made.status_code == 201, made.text
    endpoint, first_secret = made.json()["endpoint"], made.json()["secret"]
    assert first_secret.startswith("whsec_")
    assert endpoint["event_types"] == sorted(EVENTS)
    replay = api.client.post(
        "/v1/webhooks/endpoints",
        json={"url": receiver.url, "event_types": EVENTS, "description": "kasir"},
        headers={**auth, "Idempotency-Key": "wh-1"},
    )
    assert replay.status_code == 201 and replay.json() == {"endpoint": endpoint, "secret": None}
    listed = api.client.get("/v1/webhooks/endpoints", headers=auth).json()["endpoints"]
    assert listed == [endpoint]

    rotated = api.client.post(
        f"/v1/webhooks/endpoints/{endpoint['id']}/rotate-secret", json={"grace_period_s": 3600}, headers=auth
    )
    assert rotated.status_code == 200, rotated.text
    second_secret = rotated.json()["secret"]
    assert second_secret.startswith("whsec_") and second_secret != first_secret

    with api.db.sessions.begin() as session:
        event_id = emit(
            session, merchant_id, "payment.completed", {"payment_id": "p-9", "amount_idr_minor": 2500}
        )
    receiver.secrets[:] = [second_secret]  # the merchant already switched its receiver
    with httpx.Client(timeout=5) as client:
        report = WebhookDispatcher(
            api.db.engine, client=client, policy=TargetPolicy(allow_private=True)
        ).run_once()
    assert event_id in [r.event_id for r in receiver.requests]
    (sent,) = receiver.accepted(event_id)
    assert sent.verified_with == [second_secret] and sent.header.count("v1=") == 2
    assert report.delivered

    events = api.client.get("/v1/webhooks/events", params={"type": "payment.completed"}, headers=auth).json()
    (event,) = events["events"]
    assert (event["id"], event["data"]["amount_idr_minor"]) == (event_id, 2500)
    (delivery,) = event["deliveries"]
    assert (delivery["status"], delivery["attempts"], delivery["last_status_code"]) == ("delivered", 1, 200)

    again = api.client.post(
        f"/v1/webhooks/events/{event_id}/redeliver", json={"endpoint_id": endpoint["id"]}, headers=auth
    )
    assert again.status_code == 202, again.text
    assert (again.json()["status"], again.json()["attempts"]) == ("pending", 0)

    gone = api.client.delete(f"/v1/webhooks/endpoints/{endpoint['id']}", headers=auth)
    assert gone.status_code == 204
    assert api.client.get("/v1/webhooks/endpoints", headers=auth).json() == {"endpoints": []}
    events = api.client.get("/v1/webhooks/events", headers=auth).json()["events"]
    assert events[0]["deliveries"][0]["status"] == "dead"  # the redelivery waiting for it


def test_another_merchants_endpoint_and_event_answer_404_and_nothing_changes(api: Harness) -> None:
    owner_id, owner_key = new_merchant(api.db)
    _, other_key = new_merchant(api.db)
    made = api.client.post(
        "/v1/webhooks/endpoints",
        json={"url": "https://127.0.0.1:9/hook", "event_types": ["payout.failed"]},
        headers=bearer(owner_key),
    ).json()
    endpoint_id = made["endpoint"]["id"]
    with api.db.sessions.begin() as session:
        event_id = emit(session, owner_id, "payout.failed", {"payout_id": "x", "amount_idr_minor": 1})
    before = _counts(api)
    other = bearer(other_key)
    assert api.client.delete(f"/v1/webhooks/endpoints/{endpoint_id}", headers=other).status_code == 404
    rotate = api.client.post(f"/v1/webhooks/endpoints/{endpoint_id}/rotate-secret", json={}, headers=other)
    assert (rotate.status_code, rotate.json()["error"]) == (404, "webhook_endpoint_not_found")
    redeliver = api.client.post(
        f"/v1/webhooks/events/{event_id}/redeliver", json={"endpoint_id": endpoint_id}, headers=other
    )
    assert (redeliver.status_code, redeliver.json()["error"]) == (404, "webhook_event_not_found")
    assert api.client.get("/v1/webhooks/events", headers=other).json() == {"events": []}
    assert _counts(api) == before


def test_only_merchant_keys_may_manage_webhooks(api: Harness) -> None:
    operator = staff_key(api.db, Role.OPERATOR)
    assert api.client.get("/v1/webhooks/endpoints", headers=bearer(operator)).status_code == 403
    assert api.client.get("/v1/webhooks/endpoints").status_code == 401


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"url": "ftp://example.test/x", "event_types": ["payout.paid"]}, "url"),
        ({"url": "not a url", "event_types": ["payout.paid"]}, "url"),
        ({"url": "https://127.0.0.1:9/x", "event_types": []}, "event_types"),
        ({"url": "https://127.0.0.1:9/x", "event_types": ["payment.refunded"]}, "event_types.0"),
        ({"url": "https://127.0.0.1:9/x", "event_types": ["payout.paid"], "extra": 1}, "extra"),
    ],
)
def test_invalid_endpoints_are_422_and_nothing_is_written(
    api: Harness, body: dict[str, object], field: str
) -> None:
    _, key = new_merchant(api.db)
    before = _counts(api)
    response = api.client.post("/v1/webhooks/endpoints", json=body, headers=bearer(key))
    assert response.status_code == 422, response.text
    assert field in [p["field"] for p in response.json()["details"]["fields"]]
    assert _counts(api) == before


def test_rotation_grace_out_of_range_is_422(api: Harness) -> None:
    _, key = new_merchant(api.db)
    made = api.client.post(
        "/v1/webhooks/endpoints",
        json={"url": "https://127.0.0.1:9/x", "event_types": ["payout.paid"]},
        headers=bearer(key),
    ).json()
    response = api.client.post(
        f"/v1/webhooks/endpoints/{made['endpoint']['id']}/rotate-secret",
        json={"grace_period_s": 10**9},
        headers=bearer(key),
    )
    assert response.status_code == 422
    unknown = api.client.post(
        f"/v1/webhooks/events/evt_{uuid.uuid4().hex}/redeliver",
        json={"endpoint_id": made["endpoint"]["id"]},
        headers=bearer(key),
    )
    assert unknown.status_code == 404


REFUSED_EVERYWHERE = (
    "http://127.0.0.1:5432/",
    "http://169.254.169.254/latest/meta-data/",
    "http://[::1]:6379/",
    "http://10.0.0.1/",
    "http://2130706433/",
    "http://0177.0.0.1/",
    "http://[::ffff:127.0.0.1]/",
    "http://[2002:7f00:1::]/",
    "http://localhost./",
    "http://rebind.warung.example/",
    "http://inside.warung.example/",
    "http://unknown.warung.example/",
)
REFUSED_IN_PRODUCTION = (
    *(url.replace("http://", "https://") for url in REFUSED_EVERYWHERE),
    "http://hooks.warung.example/msc",
    "https://127.0.0.1/hook",
    "https://localhost./",
    "https://localhost:8443/hook",
)


def _refused(api: Harness, urls: tuple[str, ...]) -> None:
    _, key = new_merchant(api.db)
    before = _counts(api)
    for url in urls:
        response = api.client.post(
            "/v1/webhooks/endpoints", json={"url": url, "event_types": ["payout.paid"]}, headers=bearer(key)
        )
        assert (response.status_code, response.json()["error"]) == (422, "webhook_url_not_allowed"), url
    assert _counts(api) == before
    public = api.client.post(
        "/v1/webhooks/endpoints",
        json={"url": "https://hooks.warung.example/msc", "event_types": ["payout.paid"]},
        headers=bearer(key),
    )
    assert public.status_code == 201, public.text


def test_webhook_urls_into_the_platforms_own_network_are_refused_without_a_setting(make_api: MakeApi) -> None:
    """Without the development setting, every private, loopback or link-local target is refused,
    in any spelling, and so is a name that resolves to one; literal addresses are not resolved."""
    api = make_api()
    looked_up: list[str] = []
    api.client.app.state.webhook_resolver = fake_resolver(looked_up)  # type: ignore[attr-defined]
    _refused(api, REFUSED_EVERYWHERE)
    assert set(looked_up) == {
        "rebind.warung.example",
        "inside.warung.example",
        "unknown.warung.example",
        "hooks.warung.example",
    }


def test_production_refuses_webhook_urls_into_the_platforms_own_network(make_api: MakeApi) -> None:
    api = make_api(environment="production", webhook_secret=secrets.token_urlsafe(32))
    api.client.app.state.webhook_resolver = fake_resolver([])  # type: ignore[attr-defined]
    _refused(api, REFUSED_IN_PRODUCTION)
