"""One detection run: allow-list, ownership, every rule, and optionally the model.

This is the function the CLI, the benchmark and (later) the mirror-fed service call. Rules see the
whole batch; the model, if given, scores the batch incrementally (its state advances).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from audit.anomaly.allowlist import allowed_mask
from audit.anomaly.clustering import ownership
from audit.anomaly.config import DetectorConfig
from audit.anomaly.flags import CYCLE, DORMANT, RULE_KINDS, SPIKE, STRUCTURING, WASH_TRADE, Flag
from audit.anomaly.model import AnomalyModel, ModelScores
from audit.anomaly.rules.context import RuleContext
from audit.anomaly.rules.cycles import detect_cycles
from audit.anomaly.rules.dormant import detect_dormant
from audit.anomaly.rules.spike import detect_spikes
from audit.anomaly.rules.structuring import detect_structuring
from audit.anomaly.rules.wash import detect_wash_trades
from audit.anomaly.trades import TradeTable

RULES: dict[str, Callable[[RuleContext], list[Flag]]] = {
    WASH_TRADE: detect_wash_trades,
    CYCLE: detect_cycles,
    SPIKE: detect_spikes,
    STRUCTURING: detect_structuring,
    DORMANT: detect_dormant,
}


@dataclass
class Detection:
    """Result of a run.

    Attributes:
        flags: Rule flags (in :data:`RULE_KINDS` order) followed by model flags.
        notes: Warnings from the rules (e.g. an exhausted search budget).
        allowed_trades: Trades left out because their pair is allow-listed.
        model_scores: The model's scores and features, when a model was given.
    """

    flags: list[Flag]
    notes: list[str] = field(default_factory=list)
    allowed_trades: int = 0
    model_scores: ModelScores | None = None


def detect(
    table: TradeTable,
    config: DetectorConfig | None = None,
    model: AnomalyModel | None = None,
    rules: Sequence[str] = RULE_KINDS,
) -> Detection:
    """Runs the selected rules (and the model) over ``table``."""
    config = config or DetectorConfig()
    allowed = allowed_mask(table, config.allow_list.pairs)
    ctx = RuleContext(table, config, ~allowed, ownership(table, config))
    flags: list[Flag] = []
    for name in rules:
        flags.extend(RULES[name](ctx))
    scores = None
    if model is not None:
        scores = model.score(table)
        flags.extend(model.flags(table, scores, ctx.active))
    return Detection(flags, ctx.notes, int(allowed.sum()), scores)
