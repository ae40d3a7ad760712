"""CarbonMarket projections: readers as of a confirmed block, and reorg rollback.

The platform is deployed on a private anvil and the market driven through signed orders settled
singly and in batches (partial fills across blocks), cancellations, nonce bumps and term
changes. The readers' confirmed views are compared with a mirror stopped at the confirmed block;
then blocks full of market events are orphaned with ``evm_snapshot``/``evm_revert`` and replaced by
a longer fork, and the live mirrors (SQLite and PostgreSQL) must equal a fresh index of the new
chain and the contract.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from sqlalchemy import select

from chain.localnode import AnvilNode
from indexer.market_state import NONCES, ORDERS, TRADES
from indexer.pipeline import Pipeline
from indexer.reader import (
    account_trades,
    market_allowlisted,
    market_nonce,
    market_order,
    market_terms,
    token_trades,
)
from tests.indexer.conftest import BACKENDS
from tests.indexer.market_traffic import (
    TOKENS,
    MarketTraffic,
    World,
    assert_market_exact,
    deploy_world,
    dump_market,
    mine,
)
from tests.indexer.support import index, pipeline_for, rpc
from tests.indexer.test_platform_projections import PlatformTraffic

PORT = 8771
HOUR = 3_600


@pytest.fixture(scope="module")
def market(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MarketTraffic]:
    """The platform funded for trading, after 6 blocks of market traffic."""
    with AnvilNode(port=PORT) as node:
        world = deploy_world(node.url, Path(tmp_path_factory.mktemp("market")))
        PlatformTraffic(world.platform, seed=1).setup()  # reserves, MSC for every account
        traffic = MarketTraffic(world, seed=51)
        mine(world.url, traffic.setup_calls())
        mine(world.url, traffic.funding_calls())
        for _ in range(6):
            _block(world, traffic)
        yield traffic


def _block(world: World, traffic: MarketTraffic, fills: int = 8) -> None:
    now = int(world.chain.w3.eth.get_block("latest")["timestamp"])
    mine(world.url, traffic.calls(now, fills), HOUR)


def test_market_reader_answers_as_of_the_confirmed_block(market, make_db):
    world = market.world
    address = str(world.market.address).lower()
    full = index(make_db("sqlite"), world.chain)
    head = world.chain.head()
    accounts = world.chain.accounts
    with full.engine.connect() as conn:
        hashes = sorted(set(conn.execute(select(ORDERS.c.order_hash)).scalars()) | market.hashes)
        assert len(conn.execute(select(TRADES)).all()) >= 30
        assert conn.execute(select(NONCES)).first() is not None
    for k in (1, 2, 3):
        stopped = pipeline_for(make_db("sqlite"), world.chain)
        stopped.run(follow=False, stop_at=head - k)
        with full.engine.connect() as late, stopped.engine.connect() as early:
            for h in hashes:
                assert market_order(late, h, k) == market_order(early, h, 0), (k, h)
            for token in TOKENS:
                assert token_trades(late, token, k) == token_trades(early, token, 0), (k, token)
            for a in accounts:
                assert account_trades(late, a, k) == account_trades(early, a, 0), (k, a)
                assert market_allowlisted(late, address, a, k) == market_allowlisted(early, address, a, 0)
                assert market_nonce(late, address, a, k) == market_nonce(early, address, a, 0), (k, a)
            assert market_terms(late, address, k) == market_terms(early, address, 0)
    with full.engine.connect() as conn:  # the last block filled orders: the views differ
        last = [t for t in token_trades(conn, TOKENS[0], 0) if t["block_number"] == head]
        assert all(t["block_number"] <= head - 1 for t in token_trades(conn, TOKENS[0], 1))
        assert len(token_trades(conn, TOKENS[0], 0)) - len(token_trades(conn, TOKENS[0], 1)) == len(last)
        assert token_trades(conn, TOKENS[0], 0, limit=2) == token_trades(conn, TOKENS[0], 0)[:2]


def _catch_up(pipelines: list[Pipeline]) -> None:
    for p in pipelines:
        p.run(follow=False)


def test_reorg_of_market_blocks_equals_a_fresh_index(market, make_db):
    world = market.world
    live = [pipeline_for(make_db(b), world.chain, initial_span=2, max_span=4) for b in BACKENDS]
    _catch_up(live)
    snapshot = rpc(world.url, "evm_snapshot")
    saved = ([replace(o) for o in market.open], dict(market.nonces), market.requests)
    for _ in range(3):
        _block(world, market, fills=10)
    _catch_up(live)
    with live[0].engine.connect() as conn:  # the blocks about to be orphaned are mirrored
        orphan_trades = len(conn.execute(select(TRADES)).all())
    rpc(world.url, "evm_revert", [snapshot])
    market.open, nonces, market.requests = saved
    market.nonces.clear()
    market.nonces.update(nonces)
    market.rng.seed(52)
    for _ in range(4):  # a longer fork with other fills, cancels and nonce bumps
        _block(world, market, fills=6)
    for backend, p in zip(BACKENDS, live, strict=True):
        p.run(follow=False)
        assert p.metrics.reorgs._value.get() == 1
        fresh = index(make_db(backend), world.chain)
        assert dump_market(p.engine) == dump_market(fresh.engine), backend
        assert assert_market_exact(p.engine, world, sorted(market.hashes)) == world.chain.head()
        with p.engine.connect() as conn:
            assert len(conn.execute(select(TRADES)).all()) != orphan_trades
