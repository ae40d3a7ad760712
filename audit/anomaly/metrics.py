"""Scoring the detector against labelled data: precision, recall, F1 and PR-AUC per anomaly kind.

A transaction counts as predicted for a kind when some flag of that kind names it; its score for
the kind is the highest such flag score (0 when unflagged), which is what PR-AUC ranks by.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
from sklearn.metrics import average_precision_score

from audit.anomaly.flags import Flag
from audit.anomaly.trades import BoolArray, FloatArray, TradeTable

DOCUMENTED_FALSE_FLAG_RATE = 0.001
"""Rules' false-flag budget on clean generated activity: at most 0.1% of normal trades flagged."""


@dataclass(frozen=True)
class KindScore:
    """Quality of the detector on one anomaly kind."""

    kind: str
    positives: int
    flagged: int
    precision: float
    recall: float
    f1: float
    pr_auc: float


def kind_scores(table: TradeTable, flags: Iterable[Flag], kind: str) -> FloatArray:
    """Per-transaction score for ``kind``: the highest score of a flag of that kind naming it."""
    index = {tx: i for i, tx in enumerate(table.tx_hash)}
    scores = np.zeros(len(table))
    for flag in flags:
        if flag.anomaly != kind:
            continue
        for tx in flag.tx_hashes:
            i = index.get(tx)
            if i is not None:
                scores[i] = max(scores[i], flag.score)
    return scores


def score_kind(kind: str, truth: BoolArray, predicted: BoolArray, scores: FloatArray) -> KindScore:
    """Metrics for one kind from truth, predictions and ranking scores (one entry per transaction)."""
    tp = int(np.sum(truth & predicted))
    positives, flagged = int(truth.sum()), int(predicted.sum())
    precision = tp / flagged if flagged else (1.0 if positives == 0 else 0.0)
    recall = tp / positives if positives else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    pr_auc = float(average_precision_score(truth, scores)) if positives else float("nan")
    return KindScore(kind, positives, flagged, precision, recall, f1, pr_auc)


def evaluate(table: TradeTable, flags: Sequence[Flag], kinds: Iterable[str]) -> list[KindScore]:
    """Metrics of rule flags against ``table.labels`` for each kind."""
    labels = np.asarray(table.labels, dtype=object)
    results = []
    for kind in kinds:
        scores = kind_scores(table, flags, kind)
        results.append(score_kind(kind, labels == kind, scores > 0, scores))
    return results


def false_flag_rate(table: TradeTable, flags: Iterable[Flag]) -> float:
    """Share of unlabelled (normal) transactions named by at least one flag."""
    normal = {tx for tx, label in zip(table.tx_hash, table.labels, strict=True) if not label}
    flagged = {tx for flag in flags for tx in flag.tx_hashes if tx in normal}
    return len(flagged) / max(len(normal), 1)
