"""Reorgs: after the chain replaces its last blocks, the mirror equals a fresh index of the new chain.

One chain is reorganised in several ways (a longer fork, a shorter fork, anvil_reorg at the same
height, a fork below every stored block); after each, a long-running mirror on SQLite and one on
PostgreSQL are stepped to the head and compared with fresh indexes and with the contract.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from chain.localnode import AnvilNode
from indexer.pipeline import Pipeline
from tests.indexer.conftest import BACKENDS
from tests.indexer.support import Chain, Traffic, assert_exact, deploy, dump, index, pipeline_for, rpc

PORT = 8611


@pytest.fixture(scope="module")
def chain(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Chain]:
    with AnvilNode(port=PORT) as node:
        yield deploy(node.url, Path(tmp_path_factory.mktemp("reorg")))


def _catch_up(pipelines: list[Pipeline]) -> None:
    for p in pipelines:
        p.run(follow=False)


def _assert_equal_to_fresh(pipelines: list[Pipeline], chain: Chain, make_db) -> None:
    for backend, p in zip(BACKENDS, pipelines, strict=True):
        fresh = index(make_db(backend), chain)
        assert dump(p.engine) == dump(fresh.engine), backend
        assert assert_exact(p.engine, chain) == chain.head()


def test_mirror_follows_every_kind_of_reorg(chain, make_db):
    traffic = Traffic(chain, seed=11)
    genesis_snapshot = rpc(chain.url, "evm_snapshot")
    traffic.blocks(30, 10)
    live = [pipeline_for(make_db(b), chain, initial_span=4, max_span=16) for b in BACKENDS]
    _catch_up(live)

    # 1. a longer fork replaces the last 6 blocks
    snapshot = rpc(chain.url, "evm_snapshot")
    traffic.blocks(6, 10)
    _catch_up(live)
    rpc(chain.url, "evm_revert", [snapshot])
    traffic.resync()
    traffic.rng.seed(12)
    traffic.blocks(8, 10)
    _catch_up(live)
    _assert_equal_to_fresh(live, chain, make_db)

    # 2. a shorter fork: the checkpoint block no longer exists on the node
    snapshot = rpc(chain.url, "evm_snapshot")
    traffic.blocks(5, 10)
    _catch_up(live)
    rpc(chain.url, "evm_revert", [snapshot])
    traffic.resync()
    traffic.rng.seed(13)
    traffic.blocks(2, 10)
    _catch_up(live)
    _assert_equal_to_fresh(live, chain, make_db)

    # 3. anvil_reorg: the last 3 blocks replaced at the same height
    traffic.resync()
    replacement = [[traffic.one()[1][0], offset] for offset in range(3) for _ in range(4)]
    rpc(chain.url, "anvil_reorg", [3, replacement])
    traffic.resync()
    _catch_up(live)
    _assert_equal_to_fresh(live, chain, make_db)

    # 4. a fork below every stored block: everything after the deployment is replaced
    rpc(chain.url, "evm_revert", [genesis_snapshot])
    traffic.resync()
    traffic.rng.seed(14)
    traffic.blocks(4, 10)
    _catch_up(live)
    _assert_equal_to_fresh(live, chain, make_db)

    for p in live:
        assert p.metrics.reorgs._value.get() == 4
