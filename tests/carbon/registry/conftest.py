"""Fixtures: a local registry served over HTTP on a free port, and the HTTP adapter pointed at it."""

from __future__ import annotations

import random
from collections.abc import Iterator

import pytest

from carbon.registry.http import HttpRegistryAdapter, RetryPolicy
from carbon.registry.server import RegistryServer
from tests.carbon.registry.support import ACCOUNT, API_TOKEN, PROJECT, VINTAGE, SleepRecorder


@pytest.fixture
def server() -> Iterator[RegistryServer]:
    """A running local registry with one project (100 verified units of 2021) and one account."""
    with RegistryServer(API_TOKEN) as running:
        running.registry.register_project(PROJECT, "Kalimantan Timur forest protection")
        running.registry.issue_verified_units(PROJECT, VINTAGE, 100)
        running.registry.open_account(ACCOUNT, "PT Madiun Hijau")
        yield running


@pytest.fixture
def sleeps() -> SleepRecorder:
    """The sleep function the adapter under test uses."""
    return SleepRecorder()


@pytest.fixture
def adapter(server: RegistryServer, sleeps: SleepRecorder) -> Iterator[HttpRegistryAdapter]:
    """The HTTP adapter against ``server``: 4 attempts, 0.3 s timeout, recorded backoff."""
    client = HttpRegistryAdapter(
        server.url,
        API_TOKEN,
        timeout=0.3,
        retry=RetryPolicy(max_attempts=4, base_delay=0.05, max_delay=1.0, max_retry_after=10.0),
        sleep=sleeps,
        rng=random.Random(7),
    )
    yield client
    client.close()
