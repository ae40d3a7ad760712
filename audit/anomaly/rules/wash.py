"""Wash trades and self-trades: the same beneficial owner on both sides of a market trade.

Such trades move no ownership; they print volume and prices for others to react to. A trade is
flagged when seller and buyer are the same account, or fall in the same first-funding cluster
(:mod:`audit.anomaly.clustering`). One flag per owner cluster carries all its wash trades, with
the funding transfers that tie the accounts together as context.
"""

from __future__ import annotations

import numpy as np

from audit.anomaly.flags import WASH_TRADE, Flag
from audit.anomaly.rules.context import RuleContext


def detect_wash_trades(ctx: RuleContext) -> list[Flag]:
    """Flags market trades whose two sides share an owner cluster."""
    table, owners = ctx.table, ctx.owners
    candidates = ctx.active & table.kind_mask(ctx.config.wash_trade.kinds)
    same = owners.cluster[table.sender] == owners.cluster[table.receiver]
    positions = np.flatnonzero(candidates & same)
    if len(positions) == 0:
        return []
    clusters = owners.cluster[table.sender[positions]]
    flags = []
    for cluster in np.unique(clusters):
        members = positions[clusters == cluster]
        accounts = np.unique(np.concatenate((table.sender[members], table.receiver[members])))
        self_trades = int(np.sum(table.sender[members] == table.receiver[members]))
        funding = owners.funding_tx[accounts]
        context = table.hashes(sorted(int(f) for f in funding[funding >= 0]))
        names = ctx.account_names(accounts)
        if len(accounts) == 1:
            reason = f"{len(members)} self-trade(s) by {names[0]}"
            score = 1.0
        else:
            funders = owners.funder[accounts]
            sources = ctx.account_names(funders[(funders >= 0) & (owners.cluster[funders] == cluster)])
            reason = (
                f"{len(members)} trade(s) among {len(accounts)} accounts funded from the same source "
                f"({', '.join(sources) or 'one another'}); {self_trades} self-trade(s)"
            )
            score = min(1.0, 0.7 + 0.05 * len(members) + (0.2 if self_trades else 0.0))
        flags.append(Flag(WASH_TRADE, score, table.hashes(members), reason, names, context))
    return flags
