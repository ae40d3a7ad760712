"""``python -m indexer backfill|follow|status|verify FROM TO``.

Settings come from ``MSC_INDEXER_*`` (see :mod:`indexer.settings`); the flags override them.
``backfill`` and ``follow`` migrate the database first (idempotent), show a progress bar
(blocks, events/s, ETA) and, with ``--metrics-port``, serve Prometheus metrics.
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, func, select
from tqdm import tqdm

from common.errors import MSCError
from common.sql.engine import create_engine_from_url
from common.sql.migrate import upgrade
from indexer.metrics import IndexerMetrics
from indexer.pipeline import Pipeline, StepResult
from indexer.projections import default_projections
from indexer.registry import Registry
from indexer.rpc import RpcClient
from indexer.settings import IndexerSettings
from indexer.store import DECODED, RAW_LOGS, load_checkpoint
from indexer.verify import summarise, verify_range


def build_pipeline(settings: IndexerSettings, metrics: IndexerMetrics | None = None) -> Pipeline:
    """A pipeline wired from settings: engine, RPC client, registry, default projections."""
    rpc_url, deployment_file, build_dir = settings.resolved_chain()
    metrics = metrics or IndexerMetrics()
    rpc = RpcClient(
        rpc_url,
        timeout_s=settings.rpc_timeout_s,
        max_retries=settings.rpc_max_retries,
        backoff_s=settings.rpc_backoff_s,
        on_error=metrics.error,
    )
    engine = create_engine_from_url(settings.resolved_database_url())
    registry = Registry.from_deployment(deployment_file, build_dir)
    return Pipeline(engine, rpc, registry, default_projections(), settings, metrics)


class Progress:
    """A tqdm bar over blocks with events/s, reorgs and raw-only logs in its postfix."""

    def __init__(self, pipeline: Pipeline, enabled: bool) -> None:
        start = pipeline.checkpoint().block_number
        head = pipeline.rpc.block_number() - pipeline.settings.confirmations
        self._bar = tqdm(total=max(0, head - start), unit="blk", disable=not enabled, dynamic_ncols=True)
        self._events = 0
        self._reorgs = 0
        self._problems = 0
        self._t0 = time.monotonic()

    def __call__(self, result: StepResult) -> None:
        """Advances the bar by one step's blocks."""
        if result.reorg_depth:
            self._reorgs += 1
        self._events += result.logs
        self._problems += len(result.problems)
        for problem in result.problems:
            tqdm.write(
                f"raw only: block {problem.block_number} log {problem.log_index} "
                f"{problem.address}: {problem.status.value}: {problem.error}",
                file=sys.stderr,
            )
        rate = self._events / max(time.monotonic() - self._t0, 1e-9)
        if result.head - self._bar.n > self._bar.total:
            self._bar.total = result.head
        self._bar.update(result.blocks)
        self._bar.set_postfix(
            events=self._events, ev_s=f"{rate:,.0f}", reorgs=self._reorgs, raw=self._problems
        )

    def close(self) -> None:
        """Closes the bar."""
        self._bar.close()


def _status(pipeline: Pipeline) -> dict[str, Any]:
    engine: Engine = pipeline.engine
    with engine.connect() as conn:
        state = load_checkpoint(conn, pipeline.stream)
        logs = conn.execute(select(func.count()).select_from(RAW_LOGS)).scalar_one()
        events = conn.execute(select(func.count()).select_from(DECODED)).scalar_one()
    head = pipeline.rpc.block_number()
    block = state.block_number if state else None
    return {
        "stream": pipeline.stream,
        "checkpoint": block,
        "checkpoint_hash": state.block_hash if state else None,
        "head": head,
        "lag": None if block is None else head - block,
        "raw_logs": logs,
        "decoded_events": events,
    }


def parser() -> argparse.ArgumentParser:
    """The command line."""
    p = argparse.ArgumentParser(prog="python -m indexer", description="Mirror on-chain events into SQL.")
    p.add_argument("--database-url")
    p.add_argument("--rpc-url")
    p.add_argument("--deployment", type=Path, help="deployment file (default deployments/<network>.json)")
    p.add_argument("--build-dir", type=Path)
    p.add_argument("--stream")
    p.add_argument("--confirmations", type=int)
    p.add_argument("--metrics-port", type=int)
    p.add_argument("--no-progress", action="store_true")
    sub = p.add_subparsers(dest="command", required=True)
    backfill = sub.add_parser("backfill", help="index up to the head (minus confirmations), then exit")
    backfill.add_argument("--to", type=int, help="stop at this block")
    sub.add_parser("follow", help="backfill, then follow the head until interrupted")
    sub.add_parser("status", help="checkpoint, head and lag")
    verify = sub.add_parser("verify", help="compare blocks FROM..TO with the node's receipts")
    verify.add_argument("first", type=int, metavar="FROM")
    verify.add_argument("last", type=int, metavar="TO")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """Runs the CLI; returns the exit code (1 when verify finds differences, 2 on errors)."""
    args = parser().parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    overrides = {
        key: value
        for key, value in {
            "database_url": args.database_url,
            "rpc_url": args.rpc_url,
            "deployment_file": args.deployment,
            "build_dir": args.build_dir,
            "stream": args.stream,
            "confirmations": args.confirmations,
            "metrics_port": args.metrics_port,
        }.items()
        if value is not None
    }
    try:
        settings = IndexerSettings.from_env(**overrides)
        upgrade(settings.resolved_database_url())
        pipeline = build_pipeline(settings)
        if settings.metrics_port is not None:
            pipeline.metrics.serve(settings.metrics_port)
        return _run(args, pipeline)
    except MSCError as exc:
        print(f"indexer: {exc.message}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


def _run(args: argparse.Namespace, pipeline: Pipeline) -> int:
    if args.command == "status":
        for key, value in _status(pipeline).items():
            print(f"{key:15} {value}")
        return 0
    if args.command == "verify":
        differences = verify_range(pipeline.engine, pipeline.rpc, pipeline.registry, args.first, args.last)
        for d in differences:
            print(f"{d.kind:10} block {d.block_number}: {d.detail}")
        print(f"verify {args.first}..{args.last}: {len(differences)} differences {summarise(differences)}")
        return 1 if differences else 0
    progress = Progress(pipeline, enabled=not args.no_progress)
    try:
        if args.command == "backfill":
            pipeline.run(follow=False, stop_at=args.to, on_step=progress)
        else:
            pipeline.run(follow=True, on_step=progress)
    finally:
        progress.close()
    return 0
