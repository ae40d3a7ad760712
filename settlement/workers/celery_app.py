"""The Celery application of the settlement workers.

Run workers with ``celery -A settlement.workers.celery_app worker -Q msc-settlement -B`` (or
``python -m settlement.workers``); ``-B`` (or a separate ``celery beat``) runs the periodic sweep.
Configuration comes from ``MSC_BROKER_URL`` and ``MSC_WORKER_*`` (see
:class:`~settlement.workers.settings.WorkerSettings`).

Delivery is at least once, and the steps make it count once:

* ``task_acks_late`` with ``task_reject_on_worker_lost``: a message is acknowledged only after
  its step finished, so a worker killed mid-step leaves it to be redelivered (after the broker's
  visibility timeout) to another worker;
* ``worker_prefetch_multiplier = 1``: a worker holds one message at a time, so a dying worker
  strands little and busy workers do not hoard the queue;
* every step reloads its rows and does nothing once they have moved on; the sweep re-enqueues
  what a lost message (a broker restarted without persistence) left behind.
"""

from __future__ import annotations

import logging
import os
import threading

from celery import Celery, Task
from celery.signals import worker_init

from settlement.escrowbooks.tasks import BOOK_OUTCOMES
from settlement.workers import metrics, tasks
from settlement.workers.context import WorkerContext, load_factory
from settlement.workers.queue import CeleryQueue
from settlement.workers.retry import RetryPolicy
from settlement.workers.settings import WorkerSettings
from settlement.workers.steps import PAYBACKS, REFUNDS_RESUME, SWEEP
from settlement.workers.transport import REDIS_SCHEMES

log = logging.getLogger(__name__)

# When no broker is configured, the Celery app still exists (so its tasks can be inspected and
# called eagerly), pointed at the in-memory transport that never leaves the process.
IN_MEMORY_BROKER = "memory://"


class _ContextHolder:
    """Builds the worker process's context on first use (after fork, never at import)."""

    def __init__(self, factory_path: str) -> None:
        self.factory_path = factory_path
        self._context: WorkerContext | None = None
        self._lock = threading.Lock()

    def get(self) -> WorkerContext:
        with self._lock:
            if self._context is None:
                self._context = load_factory(self.factory_path)(os.environ)
            return self._context


def create_celery(settings: WorkerSettings) -> Celery:
    """A Celery app whose tasks are the settlement steps (see the module docstring)."""
    app = Celery("msc-settlement", broker=settings.broker_url or IN_MEMORY_BROKER)
    if settings.broker_url.partition("://")[0] in REDIS_SCHEMES:
        # The Redis transport that survives a broker restart (see settlement/workers/transport.py).
        app.conf.broker_transport = "settlement.workers.transport:Transport"
    app.conf.update(
        task_default_queue=settings.worker_queue,
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        task_ignore_result=True,
        result_backend=None,
        task_serializer="json",
        accept_content=["json"],
        broker_connection_retry_on_startup=True,
        broker_connection_max_retries=None,
        broker_transport_options={"visibility_timeout": settings.worker_visibility_timeout},
        # On a lost broker connection, stop the running steps: their messages go back to the
        # queue (acks_late) and run again, which every step allows.
        worker_cancel_long_running_tasks_on_connection_loss=True,
        worker_hijack_root_logger=False,
        beat_schedule={
            "settlement-sweep": {"task": SWEEP, "schedule": settings.worker_sweep_seconds},
            # The books follow escrow outcomes made by others on-chain (settlement.escrowbooks).
            "escrow-book-outcomes": {"task": BOOK_OUTCOMES, "schedule": settings.worker_sweep_seconds},
            # Customers paid back in Pi for escrow refunds, the MSC burned (settlement.paybacks).
            "paybacks-run": {"task": PAYBACKS, "schedule": settings.worker_sweep_seconds},
            # Merchants' refunds left under way by a crash or an outage (merchant_refunds).
            "refunds-resume": {"task": REFUNDS_RESUME, "schedule": settings.worker_sweep_seconds},
        },
    )
    policy = settings.retry_policy()
    holder = _ContextHolder(settings.worker_context_factory)
    queue = CeleryQueue(app, settings.worker_queue)
    for name in tasks.TASKS:
        _register(app, name, policy, holder, queue)
    return app


def _register(
    app: Celery, name: str, policy: RetryPolicy, holder: _ContextHolder, queue: CeleryQueue
) -> None:
    # shared=False: each app keeps its own tasks (their closures hold this app's context and queue).
    @app.task(name=name, bind=True, shared=False)  # type: ignore[misc]
    def task(self: Task, *args: str) -> str:
        try:
            result = tasks.run(holder.get(), name, tuple(args))
        except Exception as exc:
            retries = int(self.request.retries or 0)
            if policy.should_retry(exc, retries):
                countdown = policy.delay(retries)
                log.info("task %s%s failed (%s); retry %d in %.2fs", name, args, exc, retries + 1, countdown)
                raise self.retry(exc=exc, countdown=countdown, max_retries=policy.max_retries) from exc
            # A deliberate refusal is already recorded on its row (e.g. payment -> error); the
            # message is done. Retries exhausted: the sweep will try again later.
            log.warning("task %s%s gave up after %d attempts: %s", name, args, retries + 1, exc)
            return f"failed: {type(exc).__name__}: {exc}"
        for follow in result.follow_ups:
            queue.enqueue(follow.name, *follow.args)
        return result.outcome

    del task


def _default_app() -> Celery:
    """The worker process's app: the settlement steps, plus the audit's periodic reconciliation
    and anomaly scan (``audit.tasks``), so one ``celery ... -B`` runs the platform's background work."""
    from audit.tasks import register_audit_tasks  # the composition root is the one place that joins them

    app = create_celery(WorkerSettings.from_env())
    register_audit_tasks(app)
    return app


app = _default_app()


@worker_init.connect(weak=False)
def _serve_metrics(**_: object) -> None:
    """A worker's main process serves the settlement metrics when a port is configured."""
    port = WorkerSettings.from_env().worker_metrics_port
    if port:
        metrics.serve(port)


__all__ = ["app", "create_celery"]
