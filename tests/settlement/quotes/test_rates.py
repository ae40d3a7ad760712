"""Rate sources: the fixed operator rate, and the HTTP feed against a real local HTTP server."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import ClassVar

import httpx
import pytest

from settlement.quotes.errors import RateUnavailableError
from settlement.quotes.rates import FixedRateSource, HttpPriceFeed


class FeedHandler(BaseHTTPRequestHandler):
    """Answers each path with a canned (status, body)."""

    routes: ClassVar[dict[str, tuple[int, bytes]]] = {
        "/ok": (200, json.dumps({"price": "15000.2500000001"}).encode()),
        "/number": (200, b'{"price": 15000.1}'),
        "/negative": (200, b'{"price": "-1"}'),
        "/missing": (200, b'{"rate": "1"}'),
        "/garbage": (200, b"<html>not json</html>"),
        "/down": (503, b'{"error": "maintenance"}'),
        "/words": (200, b'{"price": "fifteen"}'),
    }

    def do_GET(self) -> None:
        status, body = self.routes.get(self.path, (404, b"{}"))
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:  # keep test output quiet
        return


@pytest.fixture(scope="module")
def feed_url() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), FeedHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_fixed_rate_source_returns_the_configured_decimal():
    rate = FixedRateSource("15000.5").current_rate()
    assert rate.idr_per_pi == Decimal("15000.5")
    assert rate.source == "fixed"


def test_fixed_rate_source_refuses_floats_and_non_positive():
    with pytest.raises(RateUnavailableError, match="decimal string"):
        FixedRateSource(1.5)  # type: ignore[arg-type]
    with pytest.raises(RateUnavailableError, match="positive"):
        FixedRateSource("0")


def test_http_feed_reads_a_decimal_string_exactly(feed_url):
    feed = HttpPriceFeed(f"{feed_url}/ok")
    try:
        rate = feed.current_rate()
    finally:
        feed.close()
    assert rate.idr_per_pi == Decimal("15000.2500000001")
    assert rate.source.endswith("/ok")


def test_http_feed_parses_json_numbers_as_exact_decimals(feed_url):
    with httpx.Client() as client:
        rate = HttpPriceFeed(f"{feed_url}/number", client=client).current_rate()
    assert rate.idr_per_pi == Decimal("15000.1")


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("/negative", "not a positive number"),
        ("/missing", "no 'price' field"),
        ("/garbage", "not JSON"),
        ("/down", "503"),
        ("/words", "not a decimal number"),
    ],
)
def test_http_feed_refuses_bad_answers(feed_url, path, message):
    with httpx.Client() as client, pytest.raises(RateUnavailableError, match=message) as caught:
        HttpPriceFeed(f"{feed_url}{path}", client=client).current_rate()
    assert caught.value.status_code == 503


def test_http_feed_unreachable_is_unavailable():
    with httpx.Client(timeout=1) as client, pytest.raises(RateUnavailableError, match="ConnectError"):
        HttpPriceFeed("http://127.0.0.1:9/price", client=client).current_rate()
