"""One reconciliation run: every check at one block, stored, counted and alerted.

The run row is written (and committed) before any check runs, so a crash mid-run leaves an
unfinished run (``finished_at`` NULL) rather than nothing; results and the run's verdict are then
written in one transaction, so a run is either complete with all its checks or has none. Checks
read the mirror in one transaction (REPEATABLE READ on PostgreSQL), so an indexer committing
meanwhile cannot make the run compare two different blocks.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, Engine, insert, update

from audit.reconcile.alerts import Alerter
from audit.reconcile.chainview import ChainView
from audit.reconcile.checks import Check, default_checks
from audit.reconcile.metrics import AuditMetrics
from audit.reconcile.opsgauges import refresh_ops_gauges
from audit.reconcile.results import CheckResult
from audit.store.models import RECONCILIATION_CHECKS as CHECKS
from audit.store.models import RECONCILIATION_RUNS as RUNS
from chain.platform import Platform
from common.errors import ValidationError
from common.sql.helpers import utcnow
from indexer.store import load_checkpoint


@dataclass(frozen=True)
class RunReport:
    """What a run found."""

    run_id: int
    block: int
    results: list[CheckResult]
    alerted: bool

    @property
    def ok(self) -> bool:
        """Whether every check held."""
        return all(r.ok for r in self.results)

    @property
    def failed(self) -> list[CheckResult]:
        """The checks that did not hold."""
        return [r for r in self.results if not r.ok]


def _snapshot(conn: Connection) -> Connection:
    if conn.dialect.name == "postgresql":
        return conn.execution_options(isolation_level="REPEATABLE READ")
    return conn


def _target_block(conn: Connection, stream: str, block: int | None) -> int:
    state = load_checkpoint(conn, stream)
    if state is None:
        raise ValidationError(
            f"the mirror (stream {stream!r}) has indexed nothing yet; run the indexer first"
        )
    if block is not None and block != state.block_number:
        raise ValidationError(
            f"the mirror holds balances as of block {state.block_number}, not {block}; "
            "reconcile at the mirror's block or let the indexer reach it",
            block=block,
            mirror_block=state.block_number,
        )
    return state.block_number


def reconcile_once(
    engine: Engine,
    platform: Platform,
    *,
    block: int | None = None,
    stream: str = "default",
    checks: Sequence[Check] | None = None,
    metrics: AuditMetrics | None = None,
    alerter: Alerter | None = None,
    clock: Callable[[], datetime] = utcnow,
) -> RunReport:
    """Runs every check at the mirror's block (or asserts it is ``block``), stores and alerts.

    Args:
        engine: The platform database (mirror, settlement books and audit tables).
        platform: The deployed contracts, read at the block.
        block: The block to reconcile; must be the mirror's checkpoint (default: it).
        stream: The indexer stream whose checkpoint defines the block.
        checks: The checks to run (default: :func:`~audit.reconcile.checks.default_checks`).
        metrics: Where to count results (default: a private registry).
        alerter: Who to tell about failures (default: log and metric only).
        clock: Timestamps of the run.

    Raises:
        ValidationError: the mirror is empty, or not at ``block``.
    """
    metrics = metrics or AuditMetrics()
    alerter = alerter or Alerter(metrics)
    checks = list(checks) if checks is not None else default_checks()
    with _snapshot(engine.connect()) as conn, conn.begin():
        target = _target_block(conn, stream, block)
        with engine.begin() as writer:  # the write-ahead run row, committed before any check runs
            inserted = writer.execute(insert(RUNS).values(block=target, started_at=clock()))
            run_id = int(inserted.inserted_primary_key[0])  # type: ignore[index]
        view = ChainView(platform, target)
        results = [result for check in checks for result in check(conn, view)]
    ok = all(r.ok for r in results)
    with engine.begin() as conn:
        now = clock()
        conn.execute(
            insert(CHECKS),
            [
                {
                    "run_id": run_id,
                    "block_number": target,
                    "check": r.check,
                    "subject": r.subject,
                    "ok": r.ok,
                    "expected": str(r.expected),
                    "actual": str(r.actual),
                    "details": r.details,
                    "created_at": now,
                }
                for r in results
            ],
        )
        conn.execute(update(RUNS).where(RUNS.c.id == run_id).values(finished_at=now, ok=ok))
        refresh_ops_gauges(conn, metrics)
    for result in results:
        metrics.record_check(result)
    metrics.runs.labels(outcome="ok" if ok else "failed").inc()
    metrics.last_block.set(target)
    _record_figures(view, metrics)
    alerted = alerter.alert(run_id, target, [r for r in results if not r.ok])
    return RunReport(run_id, target, results, alerted)


def _record_figures(view: ChainView, metrics: AuditMetrics) -> None:
    metrics.supply.set(view.total_supply())
    metrics.reserves.set(view.attested_reserves())
    metrics.escrow_outstanding.set(view.escrow_totals()[0])
