"""Fixtures of the worker tests: per module a PostgreSQL schema, a Pi peer and a private anvil
(the module's ``ANVIL_PORT``, in 8720-8728) with the platform deployed."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from stellar_sdk import Keypair
from web3 import Web3

from chain.localnode import AnvilNode
from common.sql.engine import create_engine_from_url, make_sessionmaker
from common.sql.migrate import upgrade
from pi_peer.control import PeerControl
from pi_peer.server import PeerServer
from pi_peer.state import PeerConfig
from tests.api.support import Db
from tests.settlement.minting.support import deploy
from tests.settlement.workers.support import PEER_API_KEY, PI, Peer, Stack


@pytest.fixture(scope="module")
def pg(pg_schema_factory: Callable[[], str]) -> Iterator[Db]:
    """A migrated PostgreSQL schema of the module."""
    url = pg_schema_factory()
    upgrade(url)
    engine = create_engine_from_url(url)
    yield Db("postgresql", url, engine, make_sessionmaker(engine))
    engine.dispose()


@pytest.fixture(scope="module")
def peer() -> Iterator[Peer]:
    """A local Pi peer with 10,000 Pi in the app wallet."""
    app = Keypair.random()
    with PeerServer(
        PeerConfig(api_key=PEER_API_KEY, app_secret=app.secret, app_balance=10_000 * PI)
    ) as server:
        control = PeerControl(server.url)
        yield Peer(server, app, control)
        control.close()


@pytest.fixture(scope="module")
def stack(
    request: pytest.FixtureRequest, pg: Db, peer: Peer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Stack]:
    """The module's database, peer, and a private anvil with the platform deployed."""
    with AnvilNode(port=request.module.ANVIL_PORT) as node:
        w3 = Web3(Web3.HTTPProvider(node.url, request_kwargs={"timeout": 60}))
        chain = deploy(w3, tmp_path_factory.mktemp("deployment"))
        yield Stack(pg, peer, chain, node.url)
