"""Fixtures for tests that need a local Pi peer: a fresh peer served by uvicorn on a free port per test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from stellar_sdk import Keypair, Server

from pi_peer.control import PeerControl
from pi_peer.server import PeerServer
from pi_peer.state import PeerConfig

API_KEY = "test-server-api-key"


@pytest.fixture
def app_keypair() -> Keypair:
    """The app's wallet (the developer's own seed)."""
    return Keypair.random()


@pytest.fixture
def peer(app_keypair: Keypair) -> Iterator[PeerServer]:
    """A running peer with 1000 Pi in the app wallet. Its payment ids differ from every other
    peer's (seeded by the random app wallet), as Pi's do: tests sharing a database never see one
    Pi payment id twice."""
    config = PeerConfig(
        api_key=API_KEY, app_secret=app_keypair.secret, seed=f"pi-peer/{app_keypair.public_key}"
    )
    with PeerServer(config) as server:
        yield server


@pytest.fixture
def control(peer: PeerServer) -> Iterator[PeerControl]:
    """The Pioneer-side helper client."""
    client = PeerControl(peer.url)
    yield client
    client.close()


@pytest.fixture
def horizon_server(peer: PeerServer) -> Server:
    """stellar-sdk's own Server pointed at the peer."""
    return Server(peer.url)
