"""Command line of the audit jobs: ``python -m audit {reconcile,export-trades,scan,train,flags,anomaly}``
and ``liabilities {publish,proof}`` (:mod:`audit.liabilities.cli`).

``reconcile [--block N]`` checks the mirror, the books and the chain at the mirror's block and
stores each result (exit 1 when a check fails, after alerting). ``export-trades --output F``
writes the mirror's trades in the detector's CSV format. ``train --model-out F`` fits the
IsolationForest on the mirror's trades. ``scan`` scores the blocks since the last scan with the
rules (and ``--model``) and stores the flags. ``flags set-status ID confirmed|dismissed`` records
an auditor's review; ``flags list`` prints flags as JSON lines. ``anomaly ...`` is the offline
detector (``python -m audit.anomaly``). Settings come from ``MSC_AUDIT_*`` (see
:mod:`audit.settings`); flags override them. Exit status 2: bad input or settings.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.exc import DBAPIError

from audit.anomaly import cli as anomaly_cli
from audit.anomaly.config import load_config
from audit.anomaly.model import AnomalyModel
from audit.anomaly.trades import TradeTable
from audit.liabilities import cli as liabilities_cli
from audit.mirror_trades import export_trades, load_trades
from audit.monthly import cli as monthly_cli
from audit.reconcile.alerts import Alerter
from audit.reconcile.checks import default_checks
from audit.reconcile.metrics import AuditMetrics
from audit.reconcile.runner import reconcile_once
from audit.scan import ScanSettings, model_version, scan_once
from audit.settings import AuditSettings
from audit.store.models import ANOMALY_FLAGS
from audit.store.repository import set_flag_status
from common.errors import MSCError
from common.sql.engine import create_engine_from_url
from common.sql.helpers import utcnow
from common.sql.migrate import upgrade
from indexer.store import load_checkpoint

EXIT_FAILED = 1
EXIT_INPUT = 2


def _settings(args: argparse.Namespace) -> AuditSettings:
    overrides: dict[str, Any] = {
        name: value
        for name in ("database_url", "rpc_url", "deployment_file", "build_dir", "alert_webhook_url")
        if (value := getattr(args, name, None)) is not None
    }
    return AuditSettings.from_env(**overrides)


def _engine(settings: AuditSettings, *, migrate: bool = False) -> Engine:
    """The database engine; ``migrate`` first upgrades the schema (idempotent), as the indexer does."""
    url = settings.resolved_database_url()
    if migrate:
        upgrade(url)
    return create_engine_from_url(url)


def _metrics(settings: AuditSettings) -> AuditMetrics:
    metrics = AuditMetrics()
    if settings.metrics_port:
        metrics.serve(settings.metrics_port)
    return metrics


def _reconcile(args: argparse.Namespace) -> int:
    settings = _settings(args)
    metrics = _metrics(settings)
    engine = _engine(settings, migrate=True)
    try:
        report = reconcile_once(
            engine,
            settings.platform(),
            block=args.block,
            stream=settings.stream,
            checks=default_checks(settings.burners()),
            metrics=metrics,
            alerter=Alerter(metrics, settings.alert_webhook_url),
        )
    finally:
        engine.dispose()
    for r in report.results:
        mark = "ok  " if r.ok else "FAIL"
        subject = f" [{r.subject}]" if r.subject else ""
        print(f"{mark} {r.check}{subject}: expected {r.expected}, actual {r.actual}")
    verdict = "all checks passed" if report.ok else f"{len(report.failed)} check(s) FAILED"
    print(f"reconcile: run {report.run_id} at block {report.block}: {verdict}")
    return 0 if report.ok else EXIT_FAILED


def _export(args: argparse.Namespace) -> int:
    settings = _settings(args)
    engine = _engine(settings)
    try:
        with engine.connect() as conn:
            state = load_checkpoint(conn, settings.stream)
            head = -1 if state is None else state.block_number
            to_block = head if args.to_block is None else min(args.to_block, head)
            trades = export_trades(conn, args.output, to_block, args.from_block)
    finally:
        engine.dispose()
    skipped = ", ".join(f"{why} {n}" for why, n in sorted(trades.skipped.items())) or "none"
    print(
        f"export-trades: {len(trades.trades)} trades of blocks {args.from_block}..{to_block} "
        f"written to {args.output} (not trades: {skipped})"
    )
    return 0


def _train(args: argparse.Namespace) -> int:
    settings = _settings(args)
    config = load_config(args.config or settings.detector_config)
    engine = _engine(settings)
    try:
        with engine.connect() as conn:
            state = load_checkpoint(conn, settings.stream)
            trades = load_trades(conn, 0, -1 if state is None else state.block_number)
    finally:
        engine.dispose()
    model = AnomalyModel.train(TradeTable.from_rows(trades.rows), config.model)
    model.save(args.model_out)
    print(
        f"train: fitted on {len(trades.trades)} mirror trades; model {model_version(model)} "
        f"(features: {', '.join(model.feature_names)}) saved to {args.model_out}"
    )
    return 0


def _scan(args: argparse.Namespace) -> int:
    settings = _settings(args)
    config_path = args.config or settings.detector_config
    model = args.model or settings.model_path
    scan_settings = ScanSettings(
        config=load_config(config_path),
        model_path=Path(model) if model else None,
        lookback_days=settings.lookback_days if args.lookback_days is None else args.lookback_days,
        stream=settings.stream,
    )
    engine = _engine(settings, migrate=True)
    try:
        report = scan_once(engine, scan_settings, metrics=_metrics(settings))
    finally:
        engine.dispose()
    if report.scan_id is None:
        print(f"scan: nothing new (already scanned up to block {report.from_block - 1})")
        return 0
    print(
        f"scan {report.scan_id}: blocks {report.from_block}..{report.to_block}, {report.trades} trades, "
        f"{report.flags_found} flag(s) found, {len(report.stored)} new stored"
        + (f"; model {report.model_version}" if report.model_version else "")
    )
    return 0


def _set_status(args: argparse.Namespace) -> int:
    settings = _settings(args)
    engine = _engine(settings)
    try:
        with engine.begin() as conn:
            set_flag_status(
                conn, args.flag_id, args.status, reviewer=args.reviewer, note=args.note, now=utcnow()
            )
    finally:
        engine.dispose()
    print(f"flag {args.flag_id}: {args.status} by {args.reviewer}")
    return 0


def _list_flags(args: argparse.Namespace) -> int:
    settings = _settings(args)
    engine = _engine(settings)
    query = select(ANOMALY_FLAGS).order_by(ANOMALY_FLAGS.c.created_at, ANOMALY_FLAGS.c.id)
    if args.status:
        query = query.where(ANOMALY_FLAGS.c.status == args.status)
    try:
        with engine.connect() as conn:
            for row in conn.execute(query):
                record = dict(row._mapping)
                for key in ("created_at", "reviewed_at"):
                    record[key] = record[key].isoformat() if record[key] else None
                print(json.dumps(record, sort_keys=True))
    finally:
        engine.dispose()
    return 0


def _anomaly(args: argparse.Namespace) -> int:
    return anomaly_cli.main(args.rest)


def _common(p: argparse.ArgumentParser, chain: bool = False) -> None:
    p.add_argument("--database-url", help="default: MSC_AUDIT_DATABASE_URL, then MSC_DATABASE_URL")
    if chain:
        p.add_argument("--rpc-url")
        p.add_argument("--deployment-file", type=Path)
        p.add_argument("--build-dir", type=Path)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (exposed for tests and ``--help``)."""
    parser = argparse.ArgumentParser(prog="python -m audit", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)

    r = sub.add_parser("reconcile", help="check mirror, books and chain at one block; store and alert")
    r.add_argument("--block", type=int, help="the block to reconcile (must be the mirror's; default: it)")
    r.add_argument("--alert-webhook-url", help="POST failures here (default: MSC_AUDIT_ALERT_WEBHOOK_URL)")
    _common(r, chain=True)
    r.set_defaults(run=_reconcile)

    e = sub.add_parser("export-trades", help="write the mirror's trades as a detector trades CSV")
    e.add_argument("--output", required=True)
    e.add_argument("--from-block", type=int, default=0)
    e.add_argument("--to-block", type=int, help="default: the mirror's checkpoint")
    _common(e)
    e.set_defaults(run=_export)

    t = sub.add_parser("train", help="fit the IsolationForest on the mirror's trades and save it")
    t.add_argument("--model-out", required=True, help="joblib file to write")
    t.add_argument("--config", help="detector config ([model] section)")
    _common(t)
    t.set_defaults(run=_train)

    s = sub.add_parser("scan", help="score mirror activity since the last scan; store flags")
    s.add_argument("--config", help="detector config (thresholds, allow-list)")
    s.add_argument("--model", help="saved model to score with (its state is saved back)")
    s.add_argument("--lookback-days", type=int, help="context the rules see before the new blocks")
    _common(s)
    s.set_defaults(run=_scan)

    f = sub.add_parser("flags", help="review stored anomaly flags")
    fsub = f.add_subparsers(dest="flags_command", required=True)
    st = fsub.add_parser("set-status", help="confirm or dismiss an open flag")
    st.add_argument("flag_id")
    st.add_argument("status", choices=["confirmed", "dismissed"])
    st.add_argument("--reviewer", required=True, help="who reviewed it (stored with the review)")
    st.add_argument("--note", default="", help="why")
    _common(st)
    st.set_defaults(run=_set_status)
    ls = fsub.add_parser("list", help="print flags as JSON lines")
    ls.add_argument("--status", choices=["open", "confirmed", "dismissed"])
    _common(ls)
    ls.set_defaults(run=_list_flags)

    a = sub.add_parser("anomaly", help="the offline detector: python -m audit.anomaly ...", add_help=False)
    a.add_argument("rest", nargs=argparse.REMAINDER)
    a.set_defaults(run=_anomaly)
    liabilities_cli.add_parser(sub)
    monthly_cli.add_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Runs the command line; returns the exit status."""
    args = build_parser().parse_args(argv)
    try:
        status: int = args.run(args)
    except MSCError as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        return EXIT_INPUT
    except DBAPIError as exc:
        print(
            f"error: database: {str(exc.orig).strip()} (is it migrated? see common.sql.migrate)",
            file=sys.stderr,
        )
        return EXIT_INPUT
    except OSError as exc:
        print(f"error: {exc.strerror}: {exc.filename}", file=sys.stderr)
        return EXIT_INPUT
    return status
