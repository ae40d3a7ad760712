"""The allow-list: known account pairs whose mutual trades are expected.

A merchant moving the day's takings to its own payout account, or a cooperative and its treasury,
would otherwise look like round trips or wash trades. Trades between an allowed pair (either
direction) are masked out before the rules and the model's flags; they still count as activity.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from audit.anomaly.trades import BoolArray, TradeTable


def allowed_mask(table: TradeTable, pairs: Iterable[tuple[str, str]]) -> BoolArray:
    """True for trades between the two accounts of an allowed pair, in either direction."""
    index = {name: code for code, name in enumerate(table.accounts)}
    n = max(len(table.accounts), 1)
    keys = []
    for a, b in pairs:
        if a in index and b in index:
            lo, hi = sorted((index[a], index[b]))
            keys.append(lo * n + hi)
    if not keys or len(table) == 0:
        return np.zeros(len(table), dtype=np.bool_)
    low = np.minimum(table.sender, table.receiver)
    high = np.maximum(table.sender, table.receiver)
    return np.isin(low * n + high, np.asarray(keys, dtype=np.int64))
