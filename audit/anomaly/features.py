"""Per-trade and per-account features for the model, computed causally and incrementally.

Each trade is described by what it is (size, kind, hour of the day in Madiun time, price against
the series' running mean) and by what its accounts did *before* it (how many trades, how unusual
this size is for them, how long they were idle, how often this pair and the reverse pair traded).
"Before" is strict: the statistics come from an :class:`ActivityState` carried over from earlier
batches plus the earlier trades of the current batch, so scoring a file in one go or in daily
batches gives the same features. All of it is vectorised with grouped cumulative sums.
Features are floats (the model needs them); money in the trades stays integer.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from audit.anomaly.trades import CARBON, CARBON_TRADE, KINDS, FloatArray, IntArray, TradeTable

FEATURE_NAMES: tuple[str, ...] = (
    "log_value",
    "sender_out_amount_z",
    "receiver_in_amount_z",
    "sender_log_rate",
    "receiver_log_rate",
    "sender_log_idle_days",
    "receiver_log_idle_days",
    "pair_share",
    "reverse_pair_share",
    "price_deviation",
    "hour_sin",
    "hour_cos",
    *(f"is_{kind}" for kind in KINDS),
    "self_trade",
)
"""Columns of the feature matrix, in order; persisted with the model and checked on load."""
LOCAL_UTC_OFFSET = 7 * 3600
"""Madiun is on WIB (UTC+7); the daily rhythm is in local time."""
_VARIANCE_FLOOR = 0.05
_PAIR_SHIFT = 32


def _grow(values: np.ndarray, size: int) -> np.ndarray:
    """``values`` padded with zeros (or -1 for int timestamps) to ``size``."""
    if len(values) >= size:
        return values
    fill = -1 if values.dtype == np.int64 else 0
    return np.concatenate((values, np.full(size - len(values), fill, dtype=values.dtype)))


@dataclass
class ActivityState:
    """Running statistics of everything scored so far (persisted with the model).

    Attributes:
        account_index: Account name -> row of the per-account arrays.
        count: Trades per account, either side.
        out_count, out_total, out_sq: Sent trades, sum and sum of squares of their ``log10(value)``.
        in_count, in_total, in_sq: The same for received trades.
        first_ts, last_ts: First and last activity per account (-1: never).
        pairs: ``sender << 32 | receiver`` -> trades from sender to receiver.
        series_index: Carbon series -> row of the per-series arrays.
        series_count, series_total: Carbon trades and sum of ``log(price)`` per series.
    """

    account_index: dict[str, int] = field(default_factory=dict)
    count: FloatArray = field(default_factory=lambda: np.zeros(0))
    out_count: FloatArray = field(default_factory=lambda: np.zeros(0))
    out_total: FloatArray = field(default_factory=lambda: np.zeros(0))
    out_sq: FloatArray = field(default_factory=lambda: np.zeros(0))
    in_count: FloatArray = field(default_factory=lambda: np.zeros(0))
    in_total: FloatArray = field(default_factory=lambda: np.zeros(0))
    in_sq: FloatArray = field(default_factory=lambda: np.zeros(0))
    first_ts: IntArray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    last_ts: IntArray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    pairs: dict[int, int] = field(default_factory=dict)
    series_index: dict[str, int] = field(default_factory=dict)
    series_count: FloatArray = field(default_factory=lambda: np.zeros(0))
    series_total: FloatArray = field(default_factory=lambda: np.zeros(0))

    def account_codes(self, names: list[str]) -> IntArray:
        """State rows for ``names``, adding new accounts."""
        index = self.account_index
        codes = np.asarray([index.setdefault(name, len(index)) for name in names], dtype=np.int64)
        size = len(index)
        for name in (
            "count",
            "out_count",
            "out_total",
            "out_sq",
            "in_count",
            "in_total",
            "in_sq",
            "first_ts",
            "last_ts",
        ):
            setattr(self, name, _grow(getattr(self, name), size))
        return codes

    def series_codes(self, names: list[str]) -> IntArray:
        """State rows for carbon series ``names``, adding new ones."""
        index = self.series_index
        codes = np.asarray([index.setdefault(name, len(index)) for name in names], dtype=np.int64)
        self.series_count = _grow(self.series_count, len(index))
        self.series_total = _grow(self.series_total, len(index))
        return codes


def _exclusive_grouped_sum(group_start: np.ndarray, group_id: IntArray, values: FloatArray) -> FloatArray:
    """For sorted groups: the sum of ``values`` of the earlier elements of the same group."""
    running = np.cumsum(values) - values
    return running - running[group_start][group_id]


def _groups(keys: IntArray) -> tuple[IntArray, IntArray]:
    """Start positions and group ids of runs of equal sorted ``keys``."""
    is_start = np.ones(len(keys), dtype=np.bool_)
    is_start[1:] = keys[1:] != keys[:-1]
    return np.flatnonzero(is_start), np.cumsum(is_start) - 1


def _side_z(state: ActivityState, side: str, acc: IntArray, lv: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Amount z-score against the account's earlier trades on one side, and that side's prior count.

    ``side`` is ``out`` (what the account sent) or ``in`` (what it received); the state is advanced.
    """
    count_arr: FloatArray = getattr(state, f"{side}_count")
    total_arr: FloatArray = getattr(state, f"{side}_total")
    sq_arr: FloatArray = getattr(state, f"{side}_sq")
    order = np.lexsort((np.arange(len(acc)), acc))
    a, v = acc[order], lv[order]
    starts, gid = _groups(a)
    count = count_arr[a] + _exclusive_grouped_sum(starts, gid, np.ones(len(a)))
    total = total_arr[a] + _exclusive_grouped_sum(starts, gid, v)
    total_sq = sq_arr[a] + _exclusive_grouped_sum(starts, gid, v * v)
    mean = total / np.maximum(count, 1)
    var = np.maximum(total_sq / np.maximum(count, 1) - mean * mean, 0.0)
    z_sorted = np.where(count >= 2, (v - mean) / np.sqrt(var + _VARIANCE_FLOOR), 0.0)
    z, prior = np.empty(len(a)), np.empty(len(a))
    z[order], prior[order] = z_sorted, count
    np.add.at(count_arr, a, 1.0)
    np.add.at(total_arr, a, v)
    np.add.at(sq_arr, a, v * v)
    return z, prior


def _prior_sent(out_count: FloatArray, s: IntArray, who: IntArray) -> FloatArray:
    """How many trades account ``who[i]`` had sent before trade ``i`` (state plus earlier batch trades)."""
    n = len(s)
    pos = np.arange(n)
    composite = np.sort(s * (n + 1) + pos)
    before = np.searchsorted(composite, who * (n + 1) + pos) - np.searchsorted(composite, who * (n + 1))
    return out_count[who] + before


def _activity_features(state: ActivityState, s: IntArray, r: IntArray, ts: IntArray) -> FloatArray:
    """Log trades per day of age and log idle days, for sender and receiver, from earlier activity."""
    n = len(s)
    ev_acc = np.concatenate((s, r))
    order = np.lexsort((np.concatenate((np.arange(n), np.arange(n))), ev_acc))
    acc, t = ev_acc[order], np.concatenate((ts, ts))[order]
    starts, gid = _groups(acc)
    count = state.count[acc] + _exclusive_grouped_sum(starts, gid, np.ones(len(acc)))
    previous = np.empty(len(acc), dtype=np.int64)
    previous[1:] = t[:-1]
    previous[starts] = state.last_ts[acc[starts]]
    first = np.where(state.first_ts[acc] >= 0, state.first_ts[acc], t[starts][gid])
    age_days = np.maximum((t - first) / 86400, 1.0)
    idle = np.where(previous >= 0, np.log1p(np.maximum(t - previous, 0) / 86400), 0.0)
    per_event = np.empty((len(acc), 2))
    per_event[order] = np.column_stack((np.log1p(count / age_days), idle))
    np.add.at(state.count, acc, 1.0)
    state.first_ts[acc[starts]] = first[starts]
    np.maximum.at(state.last_ts, acc, t)
    return np.column_stack((per_event[:n, 0], per_event[n:, 0], per_event[:n, 1], per_event[n:, 1]))


def _pair_features(state: ActivityState, s: IntArray, r: IntArray) -> tuple[FloatArray, FloatArray]:
    """Earlier trades from sender to receiver, and from receiver back to sender (counts)."""
    n = len(s)
    forward = (s << _PAIR_SHIFT) | r
    backward = (r << _PAIR_SHIFT) | s
    keys, dense = np.unique(np.concatenate((forward, backward)), return_inverse=True)
    base = np.asarray([state.pairs.get(k, 0) for k in keys.tolist()], dtype=np.float64)
    fwd_id, bwd_id = dense[:n], dense[n:]
    pos = np.arange(n)
    composite = np.sort(fwd_id * (n + 1) + pos)
    same_before = np.searchsorted(composite, fwd_id * (n + 1) + pos) - np.searchsorted(
        composite, fwd_id * (n + 1)
    )
    reverse_before = np.searchsorted(composite, bwd_id * (n + 1) + pos) - np.searchsorted(
        composite, bwd_id * (n + 1)
    )
    pair = base[fwd_id] + same_before
    reverse = base[bwd_id] + reverse_before
    seen, counts = np.unique(forward, return_counts=True)
    pairs = state.pairs
    for key, c in zip(seen.tolist(), counts.tolist(), strict=True):
        pairs[key] = pairs.get(key, 0) + c
    return pair, reverse


def _price_deviation(state: ActivityState, table: TradeTable) -> FloatArray:
    """``log(price)`` minus the series' running mean ``log(price)`` (0 for MSC and a series' first trade)."""
    out = np.zeros(len(table))
    carbon = np.flatnonzero((table.kind == CARBON_TRADE) & (table.token_id >= 0))
    if len(carbon) == 0:
        return out
    codes = state.series_codes(table.token_ids)
    series = codes[table.token_id[carbon]]
    order = np.argsort(series, kind="stable")
    ser, lp = series[order], np.log(table.price[carbon][order].astype(np.float64))
    starts, gid = _groups(ser)
    count = state.series_count[ser] + _exclusive_grouped_sum(starts, gid, np.ones(len(ser)))
    total = state.series_total[ser] + _exclusive_grouped_sum(starts, gid, lp)
    dev = np.where(count > 0, lp - total / np.maximum(count, 1), 0.0)
    out[carbon[order]] = dev
    np.add.at(state.series_count, ser, 1.0)
    np.add.at(state.series_total, ser, lp)
    return out


def trade_values(table: TradeTable) -> FloatArray:
    """Value of each trade in sen as a float (MSC amount; tonnes x price for carbon)."""
    value = table.amount.astype(np.float64)
    carbon = table.token == CARBON
    value[carbon] *= table.price[carbon].astype(np.float64)
    return value


def compute_features(table: TradeTable, state: ActivityState) -> FloatArray:
    """The ``(trades, len(FEATURE_NAMES))`` matrix for ``table``; advances ``state`` past the batch."""
    n = len(table)
    if n == 0:
        return np.zeros((0, len(FEATURE_NAMES)))
    codes = state.account_codes(table.accounts)
    s, r = codes[table.sender], codes[table.receiver]
    lv = np.log10(np.maximum(trade_values(table), 1.0))
    receiver_sent = _prior_sent(state.out_count, s, r)
    sender_z, sender_sent = _side_z(state, "out", s, lv)
    receiver_z, _ = _side_z(state, "in", r, lv)
    activity = _activity_features(state, s, r, table.ts)
    pair, reverse = _pair_features(state, s, r)
    pair_share = pair / np.maximum(sender_sent, 1)
    reverse_share = reverse / np.maximum(receiver_sent, 1)
    price = _price_deviation(state, table)
    angle = ((table.ts + LOCAL_UTC_OFFSET) % 86400) * (2 * np.pi / 86400)
    kinds = (table.kind[:, None] == np.arange(len(KINDS))[None, :]).astype(np.float64)
    return np.column_stack(
        (
            lv,
            sender_z,
            receiver_z,
            activity,
            pair_share,
            reverse_share,
            price,
            np.sin(angle),
            np.cos(angle),
            kinds,
            (table.sender == table.receiver).astype(np.float64),
        )
    )
