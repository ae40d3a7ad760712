"""The settlement tasks by name (``"domain.verb"``): one table that Celery and the runner share."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from types import MappingProxyType

from settlement.escrowbooks import tasks as escrowbooks
from settlement.paybacks import tasks as paybacks
from settlement.workers import metrics, steps
from settlement.workers.context import WorkerContext
from settlement.workers.steps import StepResult

Step = Callable[..., StepResult]


def _resume_refunds(ctx: WorkerContext) -> StepResult:
    """Merchants' escrow refunds (``merchant_refunds``, a layer above settlement): imported here,
    when the task runs, so that settlement never loads the portal's packages on import."""
    from merchant_refunds import tasks as refunds

    return refunds.resume(ctx)


def _finish_wallet_moves(ctx: WorkerContext) -> StepResult:
    """Custodial wallet moves (``merchant_money``, a layer above settlement), imported when the task
    runs for the same reason as the refunds'."""
    from merchant_money import tasks as wallet_moves

    return wallet_moves.finish(ctx)


TASKS: Mapping[str, Step] = MappingProxyType(
    {
        steps.APPROVE: steps.approve_payment,
        steps.VERIFY: steps.verify_payment,
        steps.EXPIRE: steps.expire_payment,
        steps.PI_RECONCILE: steps.reconcile_pi,
        steps.DELIVER_WEBHOOKS: steps.deliver_webhooks,
        steps.MINT: steps.mint_pending,
        steps.RELEASE: steps.release_due,
        steps.PAYOUT: steps.process_payout,
        steps.FINISH_REDEMPTION: steps.finish_redemption,
        steps.SWEEP: steps.sweep,
        escrowbooks.BOOK_OUTCOMES: escrowbooks.book_outcomes,
        paybacks.RUN: paybacks.run,
        steps.REFUNDS_RESUME: _resume_refunds,
        steps.WALLET_MOVES: _finish_wallet_moves,
    }
)


def run(
    ctx: WorkerContext, name: str, args: tuple[str, ...], tasks: Mapping[str, Step] = TASKS
) -> StepResult:
    """Runs task ``name`` once with ``args`` (no retry here; the caller's runner retries), and
    counts it in the process's metrics.

    Raises:
        KeyError: no task has this name.
    """
    started, outcome = time.perf_counter(), "error"
    try:
        result = tasks[name](ctx, *args)
        outcome = "skipped" if result.outcome.startswith("skipped") else "ok"
        return result
    finally:
        metrics.observe(name, time.perf_counter() - started, outcome)
