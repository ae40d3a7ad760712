"""Sudden activity of a dormant account.

An account is dormant after ``inactive_days`` without sending or receiving anything. When it
becomes active again, what it *sends* in the next ``burst_hours`` is flagged: a long-silent wallet
suddenly moving money out is a classic sign of a taken-over or mule account. Receiving alone is
not flagged (anyone can pay a dormant address). Accounts first seen in the file are never dormant:
the file says nothing about their past. Activity between allow-listed pairs still counts as
activity, so a merchant's routine payouts keep it awake.
"""

from __future__ import annotations

import numpy as np

from audit.anomaly.flags import DORMANT, Flag, rupiah
from audit.anomaly.rules.context import RuleContext
from audit.anomaly.trades import MSC


def detect_dormant(ctx: RuleContext) -> list[Flag]:
    """Flags trades sent by an account within ``burst_hours`` of waking from dormancy."""
    table, cfg = ctx.table, ctx.config.dormant
    n = len(table)
    if n == 0:
        return []
    ev_account = np.concatenate((table.sender, table.receiver))
    ev_ts = np.concatenate((table.ts, table.ts))
    order = np.lexsort((ev_ts, ev_account))
    ev_account, ev_ts = ev_account[order], ev_ts[order]
    gap = np.diff(ev_ts)
    wake = np.flatnonzero((ev_account[1:] == ev_account[:-1]) & (gap >= cfg.inactive_days * 86400)) + 1
    if len(wake) == 0:
        return []
    sendable = ctx.active & ((table.token != MSC) | (table.amount >= cfg.min_amount_sen))
    sent = np.flatnonzero(sendable)
    sent = sent[np.argsort(table.sender[sent], kind="stable")]  # sender, then time
    key = (table.sender[sent] << 34) | (table.ts[sent] - table.ts.min())
    flags = []
    burst = cfg.burst_hours * 3600
    for w in wake.tolist():
        account, woke, last = int(ev_account[w]), int(ev_ts[w]), int(ev_ts[w - 1])
        base = (account << 34) - int(table.ts.min())
        lo = int(np.searchsorted(key, base + woke, side="left"))
        hi = int(np.searchsorted(key, base + woke + burst, side="right"))
        members = sent[lo:hi]
        if len(members) == 0:
            continue
        idle_days = (woke - last) / 86400
        total = int(table.amount[members][table.token[members] == MSC].sum())
        name = table.accounts[account]
        reason = (
            f"{name} was inactive for {idle_days:.0f} days (dormant after {cfg.inactive_days}), then sent "
            f"{len(members)} trade(s) ({rupiah(total)} in MSC) within {cfg.burst_hours} h"
        )
        score = min(1.0, 0.5 + 0.5 * (idle_days - cfg.inactive_days) / cfg.inactive_days)
        accounts = ctx.account_names(np.concatenate(([account], table.receiver[members])))
        flags.append(Flag(DORMANT, float(score), table.hashes(members), reason, accounts))
    return flags
