"""A real local webhook receiver (an HTTP server on an ephemeral port) and a movable clock.

The receiver does what a merchant's server should: it verifies ``MSC-Signature`` over the raw
body with :func:`settlement.webhooks.verify_signature` (with each secret it knows, recording which
ones matched), answers 500 to the first ``fail_first`` requests, and processes each event id once
(a repeat is answered 200 without processing again).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from settlement.webhooks.signing import SIGNATURE_HEADER, WebhookSignatureError, verify_signature


class Clock:
    """A clock tests move forward instead of sleeping."""

    def __init__(self, start: datetime | None = None) -> None:
        self.now = start or datetime(2026, 11, 22, 12, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)

    def unix(self) -> int:
        return int(self.now.timestamp())


@dataclass
class Received:
    """One request the receiver got."""

    event_id: str
    body: bytes
    header: str
    verified_with: list[str]
    """The known secrets the signature verified with."""
    answered: int


@dataclass
class Receiver:
    """State of the receiving server (see the module docstring)."""

    clock: Clock
    secrets: list[str] = field(default_factory=list)
    fail_first: int = 0
    tolerance_s: int = 300
    requests: list[Received] = field(default_factory=list)
    processed: list[str] = field(default_factory=list)
    url: str = ""
    error_body: bytes = b""
    """What a non-2xx answer carries (a receiver's internals, which must never reach the merchant)."""
    hosts: list[str] = field(default_factory=list)
    """The ``Host`` header of each request."""
    lock: threading.Lock = field(default_factory=threading.Lock)

    def handle(self, body: bytes, header: str) -> int:
        verified = []
        for secret in self.secrets:
            try:
                verify_signature(body, header, secret, self.tolerance_s, now=self.clock.unix())
            except WebhookSignatureError:
                continue
            verified.append(secret)
        event_id = json.loads(body)["id"]
        with self.lock:
            if not verified:
                status = 400
            elif self.fail_first > 0:
                self.fail_first -= 1
                status = 500
            else:
                status = 200
                if event_id not in self.processed:
                    self.processed.append(event_id)
            self.requests.append(Received(event_id, body, header, verified, status))
        return status

    def accepted(self, event_id: str) -> list[Received]:
        """The requests of ``event_id`` answered 2xx."""
        return [r for r in self.requests if r.event_id == event_id and r.answered == 200]


def serve(receiver: Receiver) -> Iterator[Receiver]:
    """Runs ``receiver`` on 127.0.0.1 on an ephemeral port until the generator is closed."""

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            receiver.hosts.append(self.headers.get("Host", ""))
            status = receiver.handle(body, self.headers.get(SIGNATURE_HEADER, ""))
            answer = receiver.error_body if status >= 300 else b""
            self.send_response(status)
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, format: str, *args: Any) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    receiver.url = f"http://127.0.0.1:{server.server_address[1]}/hooks"
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
