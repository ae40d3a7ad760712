"""Fixtures of the escrow books tests: one anvil per module (its ``ANVIL_PORT``), a fresh platform per
test, migrated databases on SQLite and PostgreSQL (the minting tests' pieces)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from web3 import Web3

from chain.localnode import AnvilNode
from tests.settlement.minting.support import Chain, Db, deploy, open_db


@pytest.fixture(scope="module")
def anvil(request: pytest.FixtureRequest) -> Iterator[AnvilNode]:
    """A private anvil for the module."""
    with AnvilNode(port=request.module.ANVIL_PORT) as node:
        yield node


@pytest.fixture(scope="module")
def w3(anvil: AnvilNode) -> Web3:
    """A web3 connection to the module's anvil."""
    return Web3(Web3.HTTPProvider(anvil.url, request_kwargs={"timeout": 60}))


@pytest.fixture
def chain(w3: Web3, tmp_path: Path) -> Chain:
    """A freshly deployed platform."""
    return deploy(w3, tmp_path)


@pytest.fixture(scope="module", params=("sqlite", "postgresql"))
def db(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Db]:
    """A migrated database; tests using it run on SQLite and on PostgreSQL."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('escrowbooks') / 'books.sqlite3'}"
    else:
        url = request.getfixturevalue("pg_schema_factory")()
    database = open_db(str(request.param), url)
    yield database
    database.engine.dispose()
