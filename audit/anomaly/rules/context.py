"""What every rule receives: the trades, the config, the allow-list mask and ownership facts."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from audit.anomaly.clustering import Ownership
from audit.anomaly.config import DetectorConfig
from audit.anomaly.trades import BoolArray, IntArray, TradeTable


@dataclass(frozen=True)
class RuleContext:
    """Inputs shared by the rules.

    Attributes:
        table: All trades, time-sorted.
        config: Thresholds.
        active: False for trades between allow-listed pairs, which no rule may flag.
        owners: First funders, hubs and owner clusters.
        notes: Rules append warnings here (e.g. a search budget was exhausted).
    """

    table: TradeTable
    config: DetectorConfig
    active: BoolArray
    owners: Ownership
    notes: list[str] = field(default_factory=list)

    def account_names(self, codes: IntArray | list[int]) -> tuple[str, ...]:
        """Names of the given account codes, deduplicated, in first-seen order."""
        return tuple(dict.fromkeys(self.table.accounts[int(c)] for c in np.asarray(codes).ravel()))


def runs(keys: IntArray, times: IntArray, max_gap: int) -> list[tuple[int, int]]:
    """Splits sorted ``(keys, times)`` into ``[start, stop)`` runs of one key with gaps <= ``max_gap``."""
    if len(keys) == 0:
        return []
    breaks = (keys[1:] != keys[:-1]) | (np.diff(times) > max_gap)
    starts = np.concatenate(([0], np.flatnonzero(breaks) + 1))
    stops = np.concatenate((starts[1:], [len(keys)]))
    return [(int(a), int(b)) for a, b in zip(starts, stops, strict=True)]
