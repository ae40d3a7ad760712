"""Price and volume jumps of a carbon credit series within a day.

The reference for a trade is the median of the previous ``reference_trades`` trades of the same
series that are at most ``window_hours`` old; a median ignores the odd outlier and is not dragged
along by a short pump. A trade is flagged when its price moved by ``max_price_move`` or more
from the reference (50% by default, where the exchange would halt trading) or its size is
``max_volume_factor`` times the reference size. Fully vectorised: the previous trades are gathered
as a ``(trades, reference_trades)`` matrix of shifted columns.
"""

from __future__ import annotations

import numpy as np

from audit.anomaly.flags import SPIKE, Flag, rupiah, severity
from audit.anomaly.rules.context import RuleContext
from audit.anomaly.trades import CARBON_TRADE, FloatArray, IntArray


def _previous(group: IntArray, ts: IntArray, values: FloatArray, k: int, window: int) -> FloatArray:
    """Matrix whose column ``j`` holds the value ``j+1`` trades earlier in the same group (NaN if none)."""
    n = len(group)
    out = np.full((n, k), np.nan)
    rows = np.arange(n)
    for j in range(1, k + 1):
        prev = rows[j:] - j
        ok = (group[prev] == group[j:]) & (ts[j:] - ts[prev] <= window)
        out[j:, j - 1] = np.where(ok, values[prev], np.nan)
    return out


def detect_spikes(ctx: RuleContext) -> list[Flag]:
    """Flags carbon trades whose price or size jumped against the series' recent trades."""
    table, cfg = ctx.table, ctx.config.spike
    positions = np.flatnonzero(ctx.active & (table.kind == CARBON_TRADE) & (table.token_id >= 0))
    if len(positions) == 0:
        return []
    positions = positions[np.argsort(table.token_id[positions], kind="stable")]  # series, then time
    group, ts = table.token_id[positions], table.ts[positions]
    price = table.price[positions].astype(np.float64)
    amount = table.amount[positions].astype(np.float64)
    window = cfg.window_hours * 3600
    prev_price = _previous(group, ts, price, cfg.reference_trades, window)
    count = np.sum(~np.isnan(prev_price), axis=1)
    has_ref = np.flatnonzero(count >= cfg.min_reference_trades)
    if len(has_ref) == 0:
        return []
    prev_amount = _previous(group, ts, amount, cfg.reference_trades, window)
    ref_price = np.nanmedian(prev_price[has_ref], axis=1)
    ref_amount = np.nanmedian(prev_amount[has_ref], axis=1)
    move = np.abs(price[has_ref] - ref_price) / ref_price
    factor = amount[has_ref] / ref_amount
    price_hit = move >= cfg.max_price_move
    volume_hit = factor >= cfg.max_volume_factor
    flags = []
    for i in np.flatnonzero(price_hit | volume_hit):
        j = int(has_ref[i])
        pos = int(positions[j])
        parts, score = [], 0.0
        if price_hit[i]:
            direction = "up" if price[j] > ref_price[i] else "down"
            parts.append(
                f"price {rupiah(int(price[j]))}/t is {move[i]:.0%} {direction} from the reference "
                f"{rupiah(round(ref_price[i]))}/t (limit {cfg.max_price_move:.0%})"
            )
            score = severity(float(move[i]), cfg.max_price_move)
        if volume_hit[i]:
            parts.append(
                f"{int(amount[j])} t is {factor[i]:.0f}x the reference size {ref_amount[i]:.0f} t "
                f"(limit {cfg.max_volume_factor:g}x)"
            )
            score = max(score, severity(float(factor[i]), cfg.max_volume_factor))
        n_ref = int(count[j])
        reference = positions[j - n_ref : j]
        series = table.token_ids[int(group[j])]
        reason = f"{series}: " + "; ".join(parts) + f" over the last {n_ref} trade(s)"
        accounts = ctx.account_names([table.sender[pos], table.receiver[pos]])
        flags.append(Flag(SPIKE, score, (table.tx_hash[pos],), reason, accounts, table.hashes(reference)))
    return flags
