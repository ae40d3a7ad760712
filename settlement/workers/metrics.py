"""Prometheus metrics of the settlement tasks, from whichever process runs them.

Tasks run in the API process (the in-process runner: its ``/metrics`` includes these) or in
Celery workers. A Celery worker serves them on ``MSC_WORKER_METRICS_PORT`` from its main process;
with the prefork pool the tasks run in child processes, so set ``PROMETHEUS_MULTIPROC_DIR`` to an
empty folder before starting the worker (prometheus_client's multiprocess mode, as for gunicorn):
each child writes its samples there and the main process serves their sum.
"""

from __future__ import annotations

import os

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Histogram, multiprocess, start_http_server

TASKS = Counter(
    "msc_worker_tasks_total",
    "Settlement tasks run, by task name and outcome (ok, skipped, error).",
    ["task", "outcome"],
)
SECONDS = Histogram(
    "msc_worker_task_seconds",
    "How long settlement tasks take, by task name.",
    ["task"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)


def observe(task: str, seconds: float, outcome: str) -> None:
    """Counts one run of ``task``."""
    TASKS.labels(task=task, outcome=outcome).inc()
    SECONDS.labels(task=task).observe(seconds)


def serving_registry() -> CollectorRegistry:
    """What a worker's metrics port serves: the sum over the pool's processes in multiprocess
    mode, else this process's registry."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return registry
    return REGISTRY


def serve(port: int) -> None:
    """Serves the worker's metrics on ``port`` (a daemon thread)."""
    start_http_server(port, registry=serving_registry())
