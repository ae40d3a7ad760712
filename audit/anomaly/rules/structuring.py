"""Structuring: splitting payments to stay just under the cash-transaction reporting threshold.

A payment is *in the band* when ``threshold * (1 - band_fraction) <= amount < threshold``. One
payment in the band is ordinary; ``min_count`` of them by the same sender (or, with
``group_by = ["receiver"]``, into the same non-hub receiver) within ``window_hours`` is the
pattern. Counting is vectorised: in-band payments are sorted by (account, time) and packed into a
single int64 key, so a ``searchsorted`` gives each payment the number of in-band payments of its
account in the window ending at it.
"""

from __future__ import annotations

import numpy as np

from audit.anomaly.flags import STRUCTURING, Flag, rupiah
from audit.anomaly.rules.context import RuleContext, runs
from audit.anomaly.trades import MSC, IntArray


def _in_window_runs(account: IntArray, ts: IntArray, window: int, min_count: int) -> list[IntArray]:
    """Groups (indices into the sorted arrays) of payments that belong to a qualifying window."""
    n = len(account)
    key = (account << 34) | (ts - ts.min())
    start = np.searchsorted(key, key - window, side="left")
    count = np.arange(n) - start + 1
    hits = np.flatnonzero(count >= min_count)
    if len(hits) == 0:
        return []
    marks = np.zeros(n + 1, dtype=np.int64)
    np.add.at(marks, start[hits], 1)
    np.add.at(marks, hits + 1, -1)
    covered = np.cumsum(marks[:n]) > 0
    idx = np.flatnonzero(covered)
    return [idx[a:b] for a, b in runs(account[idx], ts[idx], window)]


def detect_structuring(ctx: RuleContext) -> list[Flag]:
    """Flags groups of in-band payments by one sender or into one receiver within the window."""
    table, cfg = ctx.table, ctx.config.structuring
    lower = cfg.threshold_sen - (cfg.threshold_sen * round(cfg.band_fraction * 10_000)) // 10_000
    band = ctx.active & table.kind_mask(cfg.kinds) & (table.token == MSC)
    band &= (table.amount >= lower) & (table.amount < cfg.threshold_sen)
    positions = np.flatnonzero(band)
    flags: list[Flag] = []
    window = cfg.window_hours * 3600
    for side in cfg.group_by:
        column = table.sender if side == "sender" else table.receiver
        chosen = positions if side == "sender" else positions[~ctx.owners.hub[column[positions]]]
        if len(chosen) < cfg.min_count:
            continue
        chosen = chosen[np.argsort(column[chosen], kind="stable")]  # account, then time
        account, ts = column[chosen], table.ts[chosen]
        for group in _in_window_runs(account, ts, window, cfg.min_count):
            members = chosen[group]
            a, b = int(group[0]), int(group[-1]) + 1
            amounts = table.amount[members]
            count = len(members)
            who = table.accounts[int(account[a])]
            verb = "sent by" if side == "sender" else "received by"
            days = (int(ts[b - 1]) - int(ts[a])) / 86400
            reason = (
                f"{count} payments of {rupiah(int(amounts.min()))} to {rupiah(int(amounts.max()))}, "
                f"just under "
                f"the {rupiah(cfg.threshold_sen)} reporting threshold, {verb} {who} within {days:.1f} days"
            )
            score = min(1.0, 0.5 + 0.5 * (count - cfg.min_count + 1) / cfg.min_count)
            accounts = ctx.account_names(np.concatenate((table.sender[members], table.receiver[members])))
            flags.append(Flag(STRUCTURING, score, table.hashes(members), reason, accounts))
    return flags
