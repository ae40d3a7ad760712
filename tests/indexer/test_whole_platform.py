"""Exactness across the whole platform at once: every derived row equals what the contracts answer.

The five contracts are deployed with :func:`chain.deploy.deploy_platform` on one anvil and driven
in blocks that mix everything: MSC mints, transfers, approvals, burns, freezes and court-ordered
wipes; staking locks, claims, withdrawals, early exits, kicks and reward fundings; escrow
deposits (single and batch), releases, refunds, disputes and their resolution, guarantee-fund
changes; carbon issuance, transfers, retirements and bridge-backs; market fills (single and
batch, partial fills of one order across blocks), cancellations, nonce bumps and term changes.
Several thousand events are mirrored into SQLite and PostgreSQL, then compared with the contracts
at the checkpoint block: balances and supply, escrow payments and totals, locks and reward
totals, vintages, balances, certificates and bridge-backs, order fills, cancellations, nonces,
terms and allowlist, and the market readers against the trade rows.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select

from chain.localnode import AnvilNode
from indexer.market_state import TRADES
from indexer.store import DECODED, RAW_LOGS
from tests.indexer.market_traffic import MarketTraffic, World, assert_market_exact, deploy_world, mine
from tests.indexer.support import Traffic, assert_exact, index, pipeline_for
from tests.indexer.test_carbon_projections import assert_carbon_exact
from tests.indexer.test_platform_projections import (
    DAY,
    HOUR,
    PlatformTraffic,
    assert_platform_exact,
)

PORT = 8770
BLOCKS = 30
JUMPS = (HOUR, 3 * HOUR, 1_800, DAY, 2 * HOUR, 6 * HOUR)
EVERY_KIND = {
    "MadiunStableCoin": ("Transfer", "Mint", "Burn", "Approval", "AccountFrozen", "FrozenBalanceWiped"),
    "LockStaking": ("Locked", "RewardPaid", "Withdrawn", "ExitedEarly", "RewardsFunded"),
    "MerchantEscrow": ("Deposited", "Released", "Refunded", "Disputed", "DisputeResolved"),
    "CarbonCredits": (
        "CreditsIssued",
        "CreditsRetired",
        "TransferSingle",
        "TransferBatch",
        "BridgeBackRequested",
        "BridgeBackConfirmed",
        "BridgeBackRefused",
    ),
    "CarbonMarket": (
        "OrderFilled",
        "OrderCancelled",
        "NonceIncremented",
        "FeeSet",
        "SizeLimitSet",
        "AllowlistSet",
    ),
}


class WorldTraffic:
    """All the platform's traffic generators, one mixed block at a time."""

    def __init__(self, world: World, seed: int) -> None:
        self.world = world
        self.platform = PlatformTraffic(world.platform, seed=seed)
        self.market = MarketTraffic(world, seed=seed + 1)
        self.msc: Traffic | None = None
        self.seed = seed

    def setup(self) -> None:
        """Reserves, balances, approvals and tiers (escrow/staking), then projects, vintages, credits."""
        self.platform.setup()
        mine(self.world.url, self.market.setup_calls())
        mine(self.world.url, self.market.funding_calls())
        self.msc = Traffic(self.world.chain, seed=self.seed + 2)
        self.msc.resync()
        self.platform.sync()

    def block(self, jump: int) -> None:
        """One block: ~30 escrow/staking, ~25 MSC, ~10 fills and ~8 carbon/market transactions."""
        assert self.msc is not None
        pt = self.platform
        busy: set[str] = set()
        after = pt.now + 1
        calls = []
        for _ in range(30):
            action = (
                pt.escrow_action(busy, after) if pt.rng.random() < 0.55 else pt.staking_action(busy, after)
            )
            if action is not None:
                calls.append(action)
        calls += self.market.calls(pt.now, fills=10)
        calls += [self.msc.one() for _ in range(25)]
        pt.mine(calls, jump)  # mines the block and reloads the escrow/staking view
        self.msc.resync()


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[World, WorldTraffic]]:
    """The whole platform after ~30 blocks of ~75 mixed transactions each."""
    with AnvilNode(port=PORT) as node:
        world = deploy_world(node.url, Path(tmp_path_factory.mktemp("world")))
        traffic = WorldTraffic(world, seed=41)
        traffic.setup()
        for i in range(BLOCKS):
            traffic.block(JUMPS[i % len(JUMPS)])
        yield world, traffic


def test_whole_platform_mirror_equals_the_contracts(world, make_db, backend):
    w, traffic = world
    t0 = time.monotonic()
    pipeline = index(make_db(backend), w.chain, initial_span=4, max_span=16)
    seconds = time.monotonic() - t0
    head = w.chain.head()
    with pipeline.engine.connect() as conn:
        logs = conn.execute(select(func.count()).select_from(RAW_LOGS)).scalar_one()
        kinds = {
            (c, e): n
            for c, e, n in conn.execute(
                select(DECODED.c.contract, DECODED.c.event, func.count()).group_by(
                    DECODED.c.contract, DECODED.c.event
                )
            )
        }
        trades = conn.execute(select(func.count()).select_from(TRADES)).scalar_one()
    assert logs >= 4_000, logs
    assert sum(kinds.values()) == logs  # every log decoded
    for contract, events in EVERY_KIND.items():
        for event in events:
            assert kinds.get((contract, event), 0) > 0, (contract, event)
    assert trades == kinds[("CarbonMarket", "OrderFilled")] >= 100
    print(f"\n{backend}: {logs} events indexed in {seconds:.2f}s")

    assert assert_exact(pipeline.engine, w.chain) == head
    payment_ids = list(traffic.platform.payments)
    assert assert_platform_exact(pipeline.engine, w.platform, payment_ids) == head
    assert assert_carbon_exact(pipeline.engine, w.carbon) == head
    assert assert_market_exact(pipeline.engine, w, sorted(traffic.market.hashes)) == head


def test_whole_platform_mirror_stopped_midway_equals_the_contracts_there(world, make_db):
    """The same checks at an earlier block: the contracts answer as of the mirror's checkpoint."""
    w, traffic = world
    middle = w.chain.head() - BLOCKS // 2
    pipeline = pipeline_for(make_db("postgresql"), w.chain, initial_span=3, max_span=8)
    pipeline.run(follow=False, stop_at=middle)
    assert assert_exact(pipeline.engine, w.chain) == middle
    assert assert_platform_exact(pipeline.engine, w.platform, list(traffic.platform.payments)) == middle
    assert assert_carbon_exact(pipeline.engine, w.carbon) == middle
    assert assert_market_exact(pipeline.engine, w, sorted(traffic.market.hashes)) == middle
