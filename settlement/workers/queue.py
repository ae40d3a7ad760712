"""Where callers (the API, other steps) put tasks: a Celery broker or the in-process runner."""

from __future__ import annotations

import logging
from typing import Protocol

from celery import Celery

log = logging.getLogger(__name__)


class TaskQueue(Protocol):
    """Accepts tasks by name with string arguments."""

    def enqueue(self, name: str, *args: str) -> bool:
        """Queues the task; False if it could not be queued (the sweep will pick the work up)."""
        ...


class CeleryQueue:
    """Publishes tasks to a Celery broker.

    A publish that fails (the broker is down or restarting) is logged and reported as False,
    never raised: the caller's change is already committed, and the periodic sweep re-enqueues
    the step of any row left waiting, so a lost publish delays the work but loses nothing.

    Args:
        app: The Celery app (its broker URL is where tasks go).
        queue: The queue settlement workers consume.
    """

    def __init__(self, app: Celery, queue: str) -> None:
        self.app = app
        self.queue = queue

    def enqueue(self, name: str, *args: str) -> bool:
        """Publishes ``name(*args)``, retrying the connection briefly."""
        try:
            self.app.send_task(
                name,
                args=list(args),
                queue=self.queue,
                retry=True,
                retry_policy={
                    "max_retries": 2,
                    "interval_start": 0.1,
                    "interval_step": 0.2,
                    "interval_max": 0.5,
                },
            )
        except Exception:  # the broker's errors vary by transport; the sweep covers any of them
            log.warning("could not publish %s%s; the sweep will re-enqueue it", name, args, exc_info=True)
            return False
        return True
