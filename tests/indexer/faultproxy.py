"""A JSON-RPC proxy in front of anvil that injects faults: HTTP errors, timeouts, refused ranges,
extra logs and silently dropped logs."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import requests


@dataclass
class Faults:
    """What to break; counters are over all HTTP requests."""

    fail_every: int = 0  # every Nth request: HTTP 503
    slow_every: int = 0  # every Nth request: answer after `slow_s` (longer than the client's timeout)
    slow_s: float = 0.0
    max_range: int = 0  # eth_getLogs spanning more blocks: JSON-RPC "too many results" error
    inject: list[dict[str, Any]] = field(
        default_factory=list
    )  # extra logs for eth_getLogs ranges covering them
    drop: Callable[[dict[str, Any]], bool] | None = None  # logs to leave out of eth_getLogs answers
    requests: int = 0
    injected_errors: int = 0


class FaultProxy:
    """Serves on ``port`` and forwards to ``upstream`` with :class:`Faults` applied."""

    def __init__(self, upstream: str, port: int, faults: Faults) -> None:
        self.upstream = upstream
        self.faults = faults
        self.url = f"http://127.0.0.1:{port}"
        self._lock = threading.Lock()
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                status, payload = proxy.handle(json.loads(body))
                data = json.dumps(payload).encode() if payload is not None else b"oops"
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass

        self._server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> FaultProxy:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def handle(self, request: Any) -> tuple[int, Any]:
        """The status and JSON answer for one HTTP request."""
        f = self.faults
        with self._lock:
            f.requests += 1
            n = f.requests
        if f.fail_every and n % f.fail_every == 0:
            f.injected_errors += 1
            return 503, None
        if f.slow_every and n % f.slow_every == 0:
            f.injected_errors += 1
            time.sleep(f.slow_s)
        calls = request if isinstance(request, list) else [request]
        answers = [self._answer(call) for call in calls]
        return 200, answers if isinstance(request, list) else answers[0]

    def _answer(self, call: dict[str, Any]) -> dict[str, Any]:
        f = self.faults
        if call.get("method") == "eth_getLogs":
            query = call["params"][0]
            first, last = int(query["fromBlock"], 16), int(query["toBlock"], 16)
            if f.max_range and last - first + 1 > f.max_range:
                f.injected_errors += 1
                return {
                    "jsonrpc": "2.0",
                    "id": call["id"],
                    "error": {"code": -32005, "message": "query returned more than 10000 results"},
                }
        answer = requests.post(self.upstream, json=call, timeout=60).json()
        if call.get("method") == "eth_getLogs" and "result" in answer:
            logs = [lg for lg in answer["result"] if not (f.drop and f.drop(lg))]
            logs += [lg for lg in f.inject if first <= int(lg["blockNumber"], 16) <= last]
            answer["result"] = logs
        return answer
