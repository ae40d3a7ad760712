"""Retries over real HTTP: injected 503 / 429 / timeouts are survived, 4xx is never retried."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import httpx
import pytest

from carbon.registry import (
    DuplicateSerialsError,
    RegistryRefusedError,
    RegistryUnavailableError,
    SerialRange,
    UnknownProjectError,
)
from carbon.registry.http import HttpRegistryAdapter, RetryPolicy, parse_retry_after
from carbon.registry.server import RegistryServer
from common.serving import free_port
from tests.carbon.registry.support import API_TOKEN, PROJECT, TOKEN_ID, VINTAGE, SleepRecorder, minted, tx


def posts(server: RegistryServer, key: str) -> list[int]:
    """Statuses the server answered to requests carrying ``key``."""
    return [record.status for record in server.requests if record.idempotency_key == key]


def test_503s_thenSuccess(
    server: RegistryServer, adapter: HttpRegistryAdapter, sleeps: SleepRecorder
) -> None:
    server.faults.arm("status", 2, status=503)
    receipt = adapter.request_tokenisation(PROJECT, VINTAGE, 10, None, "tok-1")
    assert receipt.serials == (SerialRange(1, 10),)
    assert posts(server, "tok-1") == [503, 503, 201]
    assert len(sleeps.delays) == 2
    assert all(0 <= delay <= 0.05 * 2**i for i, delay in enumerate(sleeps.delays))  # full jitter, doubling


def test_5xxAfterApplying_retryGetsStoredResult_appliedOnce(
    server: RegistryServer, adapter: HttpRegistryAdapter
) -> None:
    token_id = minted(adapter)
    server.faults.arm("status", 1, status=500, apply_first=True)  # applied, then the answer is lost
    record = adapter.report_retirement(token_id, 5, "Budi", "offset", "CERT-1", tx(2), "ret-1")
    assert posts(server, "ret-1") == [500, 201]
    assert server.registry.retirements() == (record,)
    assert server.registry.replays == 1


def test_429_honoursRetryAfter(
    server: RegistryServer, adapter: HttpRegistryAdapter, sleeps: SleepRecorder
) -> None:
    server.faults.arm("status", 2, status=429, retry_after=3)
    adapter.request_tokenisation(PROJECT, VINTAGE, 10, None, "tok-1")
    assert posts(server, "tok-1") == [429, 429, 201]
    assert len(sleeps.delays) == 2 and all(3 <= delay <= 3.05 for delay in sleeps.delays)


def test_429_retryAfterLongerThanPatience_failsAtOnce(
    server: RegistryServer, adapter: HttpRegistryAdapter, sleeps: SleepRecorder
) -> None:
    server.faults.arm("status", 1, status=429, retry_after=3600)
    with pytest.raises(RegistryUnavailableError) as unavailable:
        adapter.request_tokenisation(PROJECT, VINTAGE, 10, None, "tok-1")
    assert unavailable.value.details["retry_after"] == 3600
    assert posts(server, "tok-1") == [429] and sleeps.delays == []


def test_timeoutAfterApplying_retrySucceeds_appliedOnce(
    server: RegistryServer, adapter: HttpRegistryAdapter
) -> None:
    token_id = minted(adapter)
    server.faults.arm("timeout", 1, delay_seconds=0.8, apply_first=True)  # client timeout is 0.3 s
    request = adapter.request_bridge_back(token_id, 5, "ACC-PT-HIJAU", "BB-1", "bb-1")
    assert request.serials == (SerialRange(1, 5),)
    assert server.registry.replays == 1
    live, *_ = server.registry.snapshot()["tokens"][token_id]
    assert live == (SerialRange(6, 40),)


def test_timeoutsWithoutApplying_thenSuccess(server: RegistryServer, adapter: HttpRegistryAdapter) -> None:
    server.faults.arm("timeout", 2, delay_seconds=0.6)
    receipt = adapter.request_tokenisation(PROJECT, VINTAGE, 10, None, "tok-1")
    assert receipt.reference == "SRN-TOK-000001"
    assert server.registry.replays == 0


def test_4xx_isNeverRetried(
    server: RegistryServer, adapter: HttpRegistryAdapter, sleeps: SleepRecorder
) -> None:
    adapter.request_tokenisation(PROJECT, VINTAGE, 10, SerialRange(1, 10), "tok-1")
    with pytest.raises(DuplicateSerialsError):
        adapter.request_tokenisation(PROJECT, VINTAGE, 10, SerialRange(1, 10), "tok-2")
    with pytest.raises(UnknownProjectError):
        adapter.request_tokenisation("PRJ-NOPE", VINTAGE, 1, None, "tok-3")
    server.faults.arm("status", 3, status=400)
    with pytest.raises(RegistryRefusedError) as injected:  # a 4xx with an unknown code: generic refusal
        adapter.request_tokenisation(PROJECT, VINTAGE, 1, None, "tok-4")
    assert injected.value.details["registry_code"] == "service_unavailable"
    assert (
        posts(server, "tok-2") == [409]
        and posts(server, "tok-3") == [404]
        and posts(server, "tok-4") == [400]
    )
    assert sleeps.delays == []


def test_persistent5xx_exhaustsAttempts(server: RegistryServer, adapter: HttpRegistryAdapter) -> None:
    server.faults.arm("status", 10, status=503)
    with pytest.raises(RegistryUnavailableError) as unavailable:
        adapter.request_tokenisation(PROJECT, VINTAGE, 10, None, "tok-1")
    assert unavailable.value.details["attempts"] == 4
    assert posts(server, "tok-1") == [503] * 4
    server.faults.clear()
    # The same call later, same key: applied exactly once.
    assert adapter.request_tokenisation(PROJECT, VINTAGE, 10, None, "tok-1").tonnes == 10
    assert server.registry.free_units(PROJECT, VINTAGE) == 90


def test_connectionRefused_isRetriedThenUnavailable(sleeps: SleepRecorder) -> None:
    with (
        HttpRegistryAdapter(
            f"http://127.0.0.1:{free_port()}",
            API_TOKEN,
            retry=RetryPolicy(max_attempts=3, base_delay=0.01),
            sleep=sleeps,
        ) as adapter,
        pytest.raises(RegistryUnavailableError) as unavailable,
    ):
        adapter.bridge_back_status("BB-1")
    assert "ConnectError" in unavailable.value.details["last_problem"]
    assert len(sleeps.delays) == 2


def test_faultsCanBeArmedOverHttp(server: RegistryServer, adapter: HttpRegistryAdapter) -> None:
    armed = httpx.post(
        f"{server.url}/v1/admin/faults",
        json={"kind": "status", "count": 1, "status": 503},
        headers={"Authorization": f"Bearer {API_TOKEN}"},
    )
    assert armed.status_code == 204
    adapter.request_tokenisation(PROJECT, VINTAGE, 1, None, "tok-1")
    assert posts(server, "tok-1") == [503, 201]


def test_parseRetryAfter_secondsAndHttpDate() -> None:
    now = datetime(2025, 3, 1, 8, 0, tzinfo=UTC)
    assert parse_retry_after("7") == 7.0
    assert parse_retry_after(format_datetime(now + timedelta(seconds=30), usegmt=True), lambda: now) == 30.0
    assert parse_retry_after(format_datetime(now - timedelta(seconds=30), usegmt=True), lambda: now) == 0.0
    assert parse_retry_after("soon") is None and parse_retry_after(None) is None


def test_backoff_isFullJitterCapped() -> None:
    policy = RetryPolicy(base_delay=1.0, max_delay=8.0)
    rng = random.Random(1)
    for retry in range(1, 10):
        assert 0 <= policy.backoff(retry, rng) <= min(8.0, 2 ** (retry - 1))
    assert TOKEN_ID > 2**64  # token ids beyond JSON's exact integers travel as strings
