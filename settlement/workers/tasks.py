"""The settlement tasks by name (``"domain.verb"``): one table that Celery and the runner share."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from types import MappingProxyType

from settlement.workers import steps
from settlement.workers.context import WorkerContext
from settlement.workers.steps import StepResult

Step = Callable[..., StepResult]

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
        steps.SWEEP: steps.sweep,
    }
)


def run(
    ctx: WorkerContext, name: str, args: tuple[str, ...], tasks: Mapping[str, Step] = TASKS
) -> StepResult:
    """Runs task ``name`` once with ``args`` (no retry here; the caller's runner retries).

    Raises:
        KeyError: no task has this name.
    """
    return tasks[name](ctx, *args)
