"""Command line: ``python -m audit.anomaly {detect,generate,train}``.

``detect`` reads a trades CSV, reports and skips bad rows (stderr, with line numbers), runs the
rules (and a saved model with ``--model``) and writes one row per flagged transaction and anomaly
kind: ``tx_hash, anomaly, score, reason``. ``--evidence`` also writes every flag with its full
evidence and review status as JSON. ``generate`` writes a labelled evaluation file; ``train``
fits and saves the IsolationForest. Exit status: 0 on success, 2 when the input, config or model
file cannot be used (with a one-line message on stderr).
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from collections.abc import Sequence

from audit.anomaly.config import load_config
from audit.anomaly.csvio import RowError, read_trades
from audit.anomaly.detector import detect
from audit.anomaly.errors import AnomalyError, DetectorConfigError, GeneratorSettingsError
from audit.anomaly.flags import write_flags_csv, write_flags_json
from audit.anomaly.generator import GeneratorSettings, generate, write_labelled
from audit.anomaly.model import AnomalyModel

EXIT_INPUT = 2


def _report_row_errors(errors: list[RowError], limit: int) -> None:
    for error in errors[:limit]:
        print(f"warning: skipped {error}", file=sys.stderr)
    if len(errors) > limit:
        print(f"warning: ... and {len(errors) - limit} more bad row(s) skipped", file=sys.stderr)


def _detect(args: argparse.Namespace) -> int:
    config = load_config(args.config)
    parsed = read_trades(args.input)
    _report_row_errors(parsed.errors, args.max_errors)
    model = AnomalyModel.load(args.model) if args.model else None
    result = detect(parsed.table, config, model)
    for note in result.notes:
        print(f"warning: {note}", file=sys.stderr)
    order = {tx: i for i, tx in enumerate(parsed.table.tx_hash)}
    rows = write_flags_csv(args.output, result.flags, order)
    if args.evidence:
        write_flags_json(args.evidence, result.flags)
    if model is not None and args.update_model:
        model.save(args.model)
    kinds = Counter(f.anomaly for f in result.flags)
    summary = ", ".join(f"{kind} {count}" for kind, count in sorted(kinds.items())) or "none"
    print(
        f"detect: {len(parsed.table)} trades read, {len(parsed.errors)} bad row(s) skipped, "
        f"{result.allowed_trades} allow-listed; flags: {summary}; {rows} row(s) written to {args.output}"
    )
    return 0


def _generate(args: argparse.Namespace) -> int:
    settings = GeneratorSettings(
        seed=args.seed,
        days=args.days,
        customers=args.customers,
        merchants=args.merchants,
        episodes=0 if args.clean else args.episodes,
    )
    data = generate(settings)
    write_labelled(args.output, data)
    labelled = sum(1 for r in data.rows if r.label)
    print(f"generate: {len(data.rows)} trades ({labelled} labelled anomalous) written to {args.output}")
    return 0


def _train(args: argparse.Namespace) -> int:
    config = load_config(args.config)
    parsed = read_trades(args.input)
    _report_row_errors(parsed.errors, args.max_errors)
    model = AnomalyModel.train(parsed.table, config.model)
    model.save(args.model_out)
    print(
        f"train: fitted on {len(parsed.table)} trades; threshold {model.threshold:.4f}; "
        f"saved to {args.model_out}"
    )
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (exposed for tests and ``--help``)."""
    parser = argparse.ArgumentParser(prog="python -m audit.anomaly", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)

    d = sub.add_parser("detect", help="flag anomalous trades in a CSV file")
    d.add_argument("--input", required=True, help="trades CSV (ts, tx_hash, kind, sender, receiver, ...)")
    d.add_argument("--output", required=True, help="flags CSV to write (tx_hash, anomaly, score, reason)")
    d.add_argument("--config", help="detector config, TOML or JSON (see audit/anomaly/README.md)")
    d.add_argument("--model", help="saved IsolationForest (from 'train') to score with as well")
    d.add_argument(
        "--update-model", action="store_true", help="save the model's advanced state back to --model"
    )
    d.add_argument("--evidence", help="also write all flags with full evidence and status as JSON")
    d.add_argument("--max-errors", type=int, default=20, help="bad rows to print (all are counted)")
    d.set_defaults(run=_detect)

    g = sub.add_parser("generate", help="write a labelled evaluation file")
    g.add_argument("--output", required=True, help="CSV to write (trades plus a label column)")
    g.add_argument("--seed", type=int, default=0)
    defaults = GeneratorSettings()
    g.add_argument("--days", type=int, default=defaults.days)
    g.add_argument("--customers", type=int, default=defaults.customers)
    g.add_argument("--merchants", type=int, default=defaults.merchants)
    g.add_argument(
        "--episodes", type=int, default=defaults.episodes, help="injected episodes per anomaly kind"
    )
    g.add_argument("--clean", action="store_true", help="no injected anomalies")
    g.set_defaults(run=_generate)

    t = sub.add_parser("train", help="fit the IsolationForest on a trades CSV and save it")
    t.add_argument("--input", required=True)
    t.add_argument("--model-out", required=True, help="joblib file to write")
    t.add_argument("--config", help="detector config ([model] section)")
    t.add_argument("--max-errors", type=int, default=20)
    t.set_defaults(run=_train)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Runs the command line; returns the exit status."""
    args = build_parser().parse_args(argv)
    try:
        status: int = args.run(args)
    except (AnomalyError, DetectorConfigError, GeneratorSettingsError) as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        return EXIT_INPUT
    except OSError as exc:
        print(f"error: cannot write output: {exc.strerror}: {exc.filename}", file=sys.stderr)
        return EXIT_INPUT
    return status
