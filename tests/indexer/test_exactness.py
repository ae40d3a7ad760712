"""Exactness: thousands of mixed MSC events, mirrored, equal the contract at the same block."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select, update

from chain.localnode import AnvilNode
from indexer.store import CHECKPOINTS, DECODED, RAW_LOGS
from indexer.verify import verify_range
from tests.indexer.support import Chain, Traffic, assert_exact, deploy, dump, index, pipeline_for

PORT = 8601


@pytest.fixture(scope="module")
def chain(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Chain]:
    """~2,000 transactions (~3,000 events) in 100 blocks, plus some single-transaction blocks."""
    with AnvilNode(port=PORT) as node:
        c = deploy(node.url, Path(tmp_path_factory.mktemp("exact")))
        traffic = Traffic(c, seed=5)
        traffic.blocks(100, 20)
        traffic.blocks(20, 1)
        yield c


def test_mirror_equals_the_contract_at_the_checkpoint(chain, make_db, backend):
    pipeline = index(make_db(backend), chain)
    block = assert_exact(pipeline.engine, chain)
    assert block == chain.head()
    with pipeline.engine.connect() as conn:
        logs = conn.execute(select(func.count()).select_from(RAW_LOGS)).scalar_one()
        events = conn.execute(select(DECODED.c.event, func.count()).group_by(DECODED.c.event)).all()
    assert logs >= 2_500
    kinds = dict(events)
    assert logs == sum(kinds.values())  # every log decoded
    for kind in (
        "Mint",
        "Transfer",
        "Burn",
        "AccountFrozen",
        "FrozenBalanceWiped",
        "ReservesAttested",
        "Approval",
    ):
        assert kinds.get(kind, 0) > 0, kind
    assert verify_range(pipeline.engine, pipeline.rpc, pipeline.registry, chain.deploy_block, block) == []


def test_a_replayed_range_duplicates_nothing(chain, make_db, backend):
    url = make_db(backend)
    pipeline = index(url, chain)
    before = dump(pipeline.engine)
    pipeline.run(follow=False)  # caught up: nothing to do
    assert dump(pipeline.engine) == before
    # Move the checkpoint back by hand: the rows above it are swept and the range re-indexed.
    with pipeline.engine.begin() as conn:
        conn.execute(update(CHECKPOINTS).values(block_number=chain.deploy_block + 37, block_hash=None))
    again = pipeline_for(url, chain, initial_span=5)
    again.run(follow=False)
    assert dump(again.engine) == before


def test_big_ranges_and_small_ranges_give_the_same_mirror(chain, make_db, backend):
    small = index(make_db(backend), chain, initial_span=1, max_span=1)
    big = index(make_db(backend), chain, initial_span=100_000, max_span=100_000, target_logs=100_000)
    assert dump(small.engine) == dump(big.engine)
