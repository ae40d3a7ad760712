"""Benchmark of the trade anomaly detector (a script, not a test): quality per kind and throughput.

Generates the default labelled evaluation set, writes and re-reads it through the strict CSV
parser, then reports

* precision, recall, F1 and PR-AUC of the rules per anomaly kind on the whole file;
* rules versus the IsolationForest alone on the second half of the file (the model is trained on
  the first half and scores the second half as new activity);
* throughput in trades/s of parsing, the rules, the model and both together, with the targets
  (F1 >= 0.9 for every kind, >= 50,000 trades/s scored) marked PASS or MISS.

Run: ``.venv/bin/python bench/anomaly.py [--seed N] [--repeat 3]``.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from audit.anomaly.csvio import read_trades
from audit.anomaly.detector import detect
from audit.anomaly.flags import RULE_KINDS
from audit.anomaly.generator import GeneratorSettings, generate, write_labelled
from audit.anomaly.metrics import evaluate, kind_scores, score_kind
from audit.anomaly.model import AnomalyModel

F1_TARGET = 0.9
THROUGHPUT_TARGET = 50_000


def _best_of(repeat: int, run: Callable[[], object]) -> float:
    """Fastest wall time of ``repeat`` calls of ``run``."""
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - start)
    return best


def main() -> int:
    """Runs the benchmark and prints the tables."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--repeat", type=int, default=3, help="timing runs; the fastest counts")
    args = parser.parse_args()

    settings = GeneratorSettings(seed=args.seed)
    start = time.perf_counter()
    data = generate(settings)
    gen_s = time.perf_counter() - start
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "labelled.csv"
        write_labelled(path, data)
        start = time.perf_counter()
        parsed = read_trades(path)
        parse_s = time.perf_counter() - start
    table = parsed.table
    n = len(table)
    print(
        f"generator: seed {args.seed}, {settings.days} days, {settings.customers} customers, "
        f"{settings.merchants} merchants, {settings.episodes} episodes per kind -> {n} trades "
        f"({sum(1 for x in table.labels if x)} labelled) in {gen_s:.1f} s; {len(parsed.errors)} bad rows"
    )

    result = detect(table)
    print("\nRules on the whole file (transaction level)")
    print(f"{'kind':<12} {'pos':>5} {'flag':>5} {'prec':>6} {'recall':>6} {'F1':>6} {'PR-AUC':>7}")
    quality = evaluate(table, result.flags, RULE_KINDS)
    for q in quality:
        print(
            f"{q.kind:<12} {q.positives:>5} {q.flagged:>5} {q.precision:>6.3f} {q.recall:>6.3f} "
            f"{q.f1:>6.3f} {q.pr_auc:>7.3f}"
        )
    normal = sum(1 for x in table.labels if not x)
    false_flags = {tx for f in result.flags for tx in f.tx_hashes} - {
        tx for tx, x in zip(table.tx_hash, table.labels, strict=True) if x
    }
    print(f"false flags on normal trades: {len(false_flags)} of {normal} ({len(false_flags) / normal:.4%})")

    half = n // 2
    first, second = table.take(np.arange(n) < half), table.take(np.arange(n) >= half)
    start = time.perf_counter()
    model = AnomalyModel.train(first)
    train_s = time.perf_counter() - start
    fresh = model.snapshot()
    scored = fresh.score(second)
    model_flagged = scored.scores >= model.threshold
    labels = np.asarray(second.labels, dtype=object)
    rule_second = detect(table)  # rules see the history, metrics are taken on the second half
    print(
        f"\nRules vs IsolationForest alone on the second half ({len(second)} trades; model trained on "
        f"the first half in {train_s:.1f} s; it flags {model_flagged.mean():.2%} of them)"
    )
    print(f"{'kind':<12} {'pos':>5} {'rules F1':>9} {'rules AUC':>9} {'model rec':>9} {'model AUC':>9}")
    for kind in RULE_KINDS:
        truth = labels == kind
        rules_scores = kind_scores(table, rule_second.flags, kind)[half:]
        r = score_kind(kind, truth, rules_scores > 0, rules_scores)
        m = score_kind(kind, truth, model_flagged, scored.scores)
        print(f"{kind:<12} {r.positives:>5} {r.f1:>9.3f} {r.pr_auc:>9.3f} {m.recall:>9.3f} {m.pr_auc:>9.3f}")
    anomalous = labels != ""
    any_rule = np.zeros(len(second), dtype=bool)
    for kind in RULE_KINDS:
        any_rule |= kind_scores(table, rule_second.flags, kind)[half:] > 0
    r_any = score_kind("any", anomalous, any_rule, any_rule.astype(float))
    m_any = score_kind("any", anomalous, model_flagged, scored.scores)
    print(
        f"{'any anomaly':<12} {int(anomalous.sum()):>5}  "
        f"rules P/R/F1 {r_any.precision:.3f}/{r_any.recall:.3f}/"
        f"{r_any.f1:.3f}   model P/R/F1 {m_any.precision:.3f}/{m_any.recall:.3f}/{m_any.f1:.3f}"
    )

    rules_s = _best_of(args.repeat, lambda: detect(table))
    model_s = _best_of(args.repeat, lambda: model.snapshot().score(table))
    both_s = _best_of(args.repeat, lambda: detect(table, model=model.snapshot()))
    batches = np.array_split(np.arange(n), 30)
    tables = [table.take(b) for b in batches]

    def incremental() -> None:
        copy = model.snapshot()
        for t in tables:
            copy.score(t)

    inc_s = _best_of(args.repeat, incremental)
    snap_s = _best_of(args.repeat, model.snapshot)
    print(
        f"\nThroughput on {n} trades (best of {args.repeat}; model timings include a state copy of "
        f"{snap_s * 1000:.0f} ms)"
    )
    rows = [
        ("CSV parse + validation", parse_s),
        ("rules (all five)", rules_s),
        ("model scoring, one batch", model_s),
        ("model scoring, 30 batches", inc_s),
        ("rules + model (detect)", both_s),
    ]
    for name, seconds in rows:
        print(f"{name:<28} {n / seconds:>12,.0f} trades/s  ({seconds:.2f} s)")

    worst = min(q.f1 for q in quality)
    print(
        f"\nTarget F1 >= {F1_TARGET} for every kind: {'PASS' if worst >= F1_TARGET else 'MISS'} "
        f"(lowest {worst:.3f})"
    )
    scored_rate = n / both_s
    print(
        f"Target >= {THROUGHPUT_TARGET:,} trades/s scored (rules + model): "
        f"{'PASS' if scored_rate >= THROUGHPUT_TARGET else 'MISS'} ({scored_rate:,.0f})"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
