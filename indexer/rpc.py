"""Talking to the node: JSON-RPC with retries, batched block headers, adaptive eth_getLogs ranges.

This bypasses web3.py's formatter layers on purpose: the indexer reads millions of logs and only
needs the node's JSON as it is. Transport failures (timeouts, refused connections, HTTP 5xx or
429, unparsable answers) and transient JSON-RPC errors are retried with exponential backoff; an
eth_getLogs range the node refuses as too large (or that returns more logs than we accept) is
split in half until it fits, and the range grows again while answers stay small.
"""

from __future__ import annotations

import itertools
import logging
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import requests

from indexer.errors import ChainChangedError, RangeTooLargeError, RpcError, RpcUnavailableError

log = logging.getLogger(__name__)

# Messages nodes use to refuse an eth_getLogs range (geth, erigon, nethermind, alchemy, infura...).
_RANGE_HINTS = (
    "query returned more than",
    "too many",
    "range",
    "limit exceeded",
    "response size",
    "exceed",
    "max results",
)
_NOT_TRANSIENT = (-32601, -32600)  # method not found, invalid request: retrying will not help


@dataclass(frozen=True)
class Header:
    """The part of a block header the indexer keeps."""

    number: int
    hash: str
    parent_hash: str
    timestamp: int


def is_range_error(code: int, message: str) -> bool:
    """Whether a JSON-RPC error means "ask for a smaller range"."""
    text = message.lower()
    return code == -32005 or any(hint in text for hint in _RANGE_HINTS)


class RpcClient:
    """A small JSON-RPC over HTTP client with retries and batching.

    Args:
        url: The node's HTTP endpoint.
        timeout_s: Per-request timeout.
        max_retries: Retries after the first attempt before giving up.
        backoff_s: First retry delay; it doubles up to 30 s.
        on_error: Called with a short kind ("timeout", "http", "rpc", ...) on every failed attempt,
            for metrics.
    """

    def __init__(
        self,
        url: str,
        *,
        timeout_s: float = 30.0,
        max_retries: int = 6,
        backoff_s: float = 0.25,
        on_error: Callable[[str], None] | None = None,
    ) -> None:
        self.url = url
        self._timeout = timeout_s
        self._retries = max_retries
        self._backoff = backoff_s
        self._on_error = on_error or (lambda kind: None)
        self._session = requests.Session()
        self._ids = itertools.count(1)

    def close(self) -> None:
        """Closes the HTTP connections."""
        self._session.close()

    def call(self, method: str, params: Sequence[Any]) -> Any:
        """One JSON-RPC call; returns its ``result``.

        Raises:
            RangeTooLargeError: an eth_getLogs range was refused (never retried: split it).
            RpcError: a JSON-RPC error that persisted through the retries.
            RpcUnavailableError: the node never answered usefully.
        """
        return self._with_retries(method, lambda: self._single(method, params))

    def batch(self, calls: Sequence[tuple[str, Sequence[Any]]]) -> list[Any]:
        """Several calls in one HTTP request; results in the order of ``calls``.

        Raises:
            RpcError / RpcUnavailableError: as :meth:`call`, for the first failing call.
        """
        if not calls:
            return []
        return list(self._with_retries(calls[0][0], lambda: self._batch(calls)))

    def block_number(self) -> int:
        """The node's head block number."""
        return int(self.call("eth_blockNumber", []), 16)

    def headers(
        self, numbers: Iterable[int], batch_size: int = 200, *, missing_ok: bool = False
    ) -> dict[int, Header]:
        """Headers of ``numbers`` by number, fetched in JSON-RPC batches.

        Raises:
            ChainChangedError: the node does not have one of them (the chain got shorter), unless
                ``missing_ok``, which leaves them out.
        """
        wanted = sorted(set(numbers))
        found: dict[int, Header] = {}
        for start in range(0, len(wanted), batch_size):
            chunk = wanted[start : start + batch_size]
            results = self.batch([("eth_getBlockByNumber", [hex(n), False]) for n in chunk])
            for number, block in zip(chunk, results, strict=True):
                if block is None:
                    if missing_ok:
                        continue
                    raise ChainChangedError(f"the node has no block {number} (the chain got shorter)")
                found[number] = Header(
                    number=number,
                    hash=block["hash"].lower(),
                    parent_hash=block["parentHash"].lower(),
                    timestamp=int(block["timestamp"], 16),
                )
        return found

    # ------------------------------------------------------------------ internals

    def _payload(self, method: str, params: Sequence[Any]) -> dict[str, Any]:
        return {"jsonrpc": "2.0", "id": next(self._ids), "method": method, "params": list(params)}

    def _post(self, body: Any) -> Any:
        try:
            response = self._session.post(self.url, json=body, timeout=self._timeout)
        except requests.Timeout as exc:
            raise _TransientError("timeout", f"no answer within {self._timeout}s") from exc
        except requests.RequestException as exc:
            raise _TransientError("connection", str(exc)) from exc
        if response.status_code == 429 or response.status_code >= 500:
            raise _TransientError("http", f"HTTP {response.status_code}")
        try:
            return response.json()
        except ValueError as exc:
            raise _TransientError("bad_json", f"unparsable answer (HTTP {response.status_code})") from exc

    def _single(self, method: str, params: Sequence[Any]) -> Any:
        answer = self._post(self._payload(method, params))
        if not isinstance(answer, dict):
            raise _TransientError("bad_json", "answer is not a JSON-RPC object")
        return _result(method, answer)

    def _batch(self, calls: Sequence[tuple[str, Sequence[Any]]]) -> list[Any]:
        payloads = [self._payload(method, params) for method, params in calls]
        answer = self._post(payloads)
        if not isinstance(answer, list):
            # Some nodes refuse batches with one error object: fall back to single calls.
            if isinstance(answer, dict) and "error" in answer:
                return [self._single(method, params) for method, params in calls]
            raise _TransientError("bad_json", "batch answer is not a list")
        by_id = {item.get("id"): item for item in answer if isinstance(item, dict)}
        results = []
        for (method, _), payload in zip(calls, payloads, strict=True):
            item = by_id.get(payload["id"])
            if item is None:
                raise _TransientError("bad_json", f"batch answer lacks the result of {method}")
            results.append(_result(method, item))
        return results

    def _with_retries(self, method: str, attempt: Callable[[], Any]) -> Any:
        delay = self._backoff
        for tries in range(self._retries + 1):
            try:
                return attempt()
            except RangeTooLargeError:
                self._on_error("range")
                raise
            except _TransientError as exc:
                self._on_error(exc.kind)
                failure: Exception = exc
            except RpcError as exc:
                self._on_error("rpc")
                if exc.rpc_code in _NOT_TRANSIENT:
                    raise
                failure = exc
            if tries < self._retries:
                log.warning("%s failed (%s); retry %d in %.2fs", method, failure, tries + 1, delay)
                time.sleep(delay)
                delay = min(delay * 2, 30.0)
        if isinstance(failure, RpcError):
            raise failure
        raise RpcUnavailableError(
            f"{method} to {self.url} failed after {self._retries + 1} attempts: {failure}", method=method
        ) from failure


class _TransientError(Exception):
    """A transport-level failure worth retrying (internal)."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind


def _result(method: str, answer: dict[str, Any]) -> Any:
    error = answer.get("error")
    if error is not None:
        code = int(error.get("code", 0)) if isinstance(error, dict) else 0
        message = str(error.get("message", error)) if isinstance(error, dict) else str(error)
        if method == "eth_getLogs" and is_range_error(code, message):
            raise RangeTooLargeError(method, code, message)
        raise RpcError(method, code, message)
    if "result" not in answer:
        raise _TransientError("bad_json", f"{method} answer has neither result nor error")
    return answer["result"]


class LogFetcher:
    """eth_getLogs over adaptive block ranges for a fixed set of addresses.

    ``span`` is the range the pipeline should ask for next: it halves when the node refuses a
    range or answers with more than ``max_logs``, and doubles while answers stay under half of
    ``target_logs``.
    """

    def __init__(
        self,
        rpc: RpcClient,
        addresses: Sequence[str],
        *,
        initial_span: int = 2_000,
        min_span: int = 1,
        max_span: int = 100_000,
        target_logs: int = 5_000,
        max_logs: int = 50_000,
    ) -> None:
        self._rpc = rpc
        self._addresses = list(addresses)
        self._min = min_span
        self._max = max(max_span, min_span)
        self._target = target_logs
        self._max_logs = max_logs
        self.span = min(max(initial_span, min_span), self._max)

    def fetch(self, from_block: int, to_block: int) -> list[dict[str, Any]]:
        """Every log of the followed addresses in ``[from_block, to_block]``, in chain order.

        Raises:
            RangeTooLargeError: the node refuses even a single block.
        """
        logs = self._fetch(from_block, to_block)
        blocks = to_block - from_block + 1
        if len(logs) > 2 * self._target:
            self.span = max(self._min, min(self.span, blocks) // 2)
        elif len(logs) < self._target // 2 and blocks >= self.span:
            self.span = min(self._max, self.span * 2)
        return logs

    def _fetch(self, a: int, b: int) -> list[dict[str, Any]]:
        query = {"fromBlock": hex(a), "toBlock": hex(b), "address": self._addresses}
        try:
            logs = self._rpc.call("eth_getLogs", [query])
        except RangeTooLargeError:
            if a == b:
                raise
            return self._split(a, b)
        if not isinstance(logs, list):
            raise RpcError("eth_getLogs", 0, "answer is not a list of logs")
        if len(logs) > self._max_logs and a < b:
            return self._split(a, b)
        return logs

    def _split(self, a: int, b: int) -> list[dict[str, Any]]:
        mid = (a + b) // 2
        self.span = max(self._min, min(self.span, b - a + 1) // 2)
        log.info("splitting eth_getLogs range %d-%d at %d", a, b, mid)
        return self._fetch(a, mid) + self._fetch(mid + 1, b)
