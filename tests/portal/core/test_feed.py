"""The live feed over real HTTP (uvicorn): Server-Sent Events of payments first credited, resumed
from ``Last-Event-ID`` without repeats or gaps, and ended when the session is signed out
everywhere."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from accounts.service import SESSION_COOKIE
from portal.services import PortalServices
from settlement.payments.models import PaymentStatus
from tests.portal.support import Served


@pytest.fixture
def fast_checks(served: Served) -> Iterator[None]:
    """The feed re-checks its session every 0.2 s for this test."""
    services: PortalServices = served.portal.services
    original = services.settings
    services.settings = original.model_copy(update={"feed_session_check_seconds": 0.2})
    yield
    services.settings = original


def _events(response: httpx.Response, deadline: float) -> Iterator[dict[str, Any]]:
    """Parsed SSE events (``id``, ``event``, ``data``) until ``deadline`` (monotonic)."""
    event: dict[str, Any] = {}
    for line in response.iter_lines():
        if time.monotonic() > deadline:
            return
        if line == "":
            if event:
                yield event
            event = {}
        elif line.startswith(":"):
            event.setdefault("comment", line)
        else:
            key, _, value = line.partition(": ")
            event[key] = value


def _next_payment(response: httpx.Response, seconds: float = 5.0) -> dict[str, Any]:
    for event in _events(response, time.monotonic() + seconds):
        if event.get("event") == "payment":
            return {"id": int(event["id"]), **json.loads(event["data"])}
    raise AssertionError("no payment event arrived")


def test_feed_streams_credited_payments_and_resumes_from_last_event_id(served: Served) -> None:
    portal = served.portal
    shop = portal.add_merchant()
    owner = portal.onboard_owner(shop)
    token = portal.accounts.sign_in(owner.email, owner.password, "feed-test").token
    headers = {"Cookie": f"{SESSION_COOKIE}={token}", "Accept-Language": "id"}
    url = f"{served.url}/portal/m/{shop}/feed"
    before = portal.pay(portal.add_merchant(), 1_000)  # another shop's payment is never sent
    with httpx.stream("GET", url, headers=headers, timeout=10) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        assert response.headers["cache-control"] == "no-store"
        first = portal.pay(shop, 12_000, until=PaymentStatus.PENDING_STELLAR)
        event = _next_payment(response)
    assert event["payment_id"] == str(first) and event["text"] == "Rp 12.000 diterima"
    assert event["count"] == 1 and event["total_idr"] == "Rp 12.000" and str(before) not in json.dumps(event)
    # While the browser is away: the same payment is minted (not announced again), another arrives.
    with portal.db.sessions.begin() as session:
        portal.app.state.payments.transition(
            session, first, PaymentStatus.PENDING_STELLAR, PaymentStatus.COMPLETED, "minted"
        )
    second = portal.pay(shop, 5_000)
    resumed = {**headers, "Last-Event-ID": str(event["id"])}
    with httpx.stream("GET", url, headers=resumed, timeout=10) as response:
        again = _next_payment(response)
    assert again["payment_id"] == str(second) and again["id"] > event["id"]
    assert again["count"] == 2 and again["total_idr"] == "Rp 17.000"


def test_feed_needs_a_session_and_ends_when_signed_out_everywhere(served: Served, fast_checks: None) -> None:
    portal = served.portal
    shop = portal.add_merchant()
    owner = portal.onboard_owner(shop)
    url = f"{served.url}/portal/m/{shop}/feed"
    anonymous = httpx.get(url, timeout=10, follow_redirects=False)
    assert anonymous.status_code == 303 and anonymous.headers["location"].startswith("/portal/login")
    token = portal.accounts.sign_in(owner.email, owner.password, "feed-test").token
    with httpx.stream("GET", url, headers={"Cookie": f"{SESSION_COOKIE}={token}"}, timeout=10) as response:
        assert response.status_code == 200
        portal.accounts.sign_out_everywhere(token)
        ended = [e for e in _events(response, time.monotonic() + 5) if e.get("event") == "end"]
    assert ended, "the stream ends once its session is gone"
