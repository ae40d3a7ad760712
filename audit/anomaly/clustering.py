"""Who owns what: hub accounts and beneficial-owner clusters from first-funding edges.

An account's *first funding* is the earliest MSC transfer it received. Someone who opens several
wallets to trade with themselves has to fund them, and usually does so from one wallet: joining
each account with its first funder (union-find) groups such wallets into one beneficial owner.
Public on-ramps fund thousands of unrelated people, so hubs (configured, redemption receivers, or
funders of more than ``max_funded_accounts`` accounts) are never joined.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from audit.anomaly.config import DetectorConfig
from audit.anomaly.trades import MSC, REDEMPTION, BoolArray, IntArray, TradeTable


class UnionFind:
    """Disjoint sets over ``0..n-1`` with path halving and union by size."""

    def __init__(self, n: int) -> None:
        self.parent = list(range(n))
        self.size = [1] * n

    def find(self, x: int) -> int:
        """Representative of ``x``'s set."""
        parent = self.parent
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    def union(self, a: int, b: int) -> None:
        """Merges the sets of ``a`` and ``b``."""
        ra, rb = self.find(a), self.find(b)
        if ra == rb:
            return
        if self.size[ra] < self.size[rb]:
            ra, rb = rb, ra
        self.parent[rb] = ra
        self.size[ra] += self.size[rb]

    def roots(self) -> IntArray:
        """Representative of every element."""
        return np.asarray([self.find(i) for i in range(len(self.parent))], dtype=np.int64)


@dataclass(frozen=True)
class Ownership:
    """Per-account results (indexed by account code).

    Attributes:
        funder: First funder's code, -1 when the account never received a funding transfer.
        funding_tx: Position of the first-funding trade, -1 when none.
        hub: True for hub accounts.
        cluster: Representative of the account's beneficial-owner cluster.
    """

    funder: IntArray
    funding_tx: IntArray
    hub: BoolArray
    cluster: IntArray


def ownership(table: TradeTable, config: DetectorConfig) -> Ownership:
    """Finds first funders, hubs and owner clusters for every account of ``table``."""
    n_accounts = len(table.accounts)
    funding = table.kind_mask(config.wash_trade.funding_kinds) & (table.token == MSC)
    funding &= table.sender != table.receiver
    positions = np.flatnonzero(funding)
    funder = np.full(n_accounts, -1, dtype=np.int64)
    funding_tx = np.full(n_accounts, -1, dtype=np.int64)
    receivers, first = np.unique(table.receiver[positions], return_index=True)
    funding_tx[receivers] = positions[first]
    funder[receivers] = table.sender[positions[first]]

    hub = np.zeros(n_accounts, dtype=np.bool_)
    hub[table.account_codes(config.accounts.hubs)] = True
    hub[table.receiver[table.kind == REDEMPTION]] = True
    funded_count = np.bincount(funder[funder >= 0], minlength=n_accounts)
    hub |= funded_count > config.wash_trade.max_funded_accounts

    sets = UnionFind(n_accounts)
    for account in np.flatnonzero((funder >= 0) & ~hub):
        source = int(funder[account])
        if not hub[source]:
            sets.union(int(account), source)
    return Ownership(funder=funder, funding_tx=funding_tx, hub=hub, cluster=sets.roots())
