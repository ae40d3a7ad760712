"""The task queue of an API process: the one given to ``create_app``, or the configured default."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy.orm import Session, sessionmaker

from settlement.workers.assembly import api_context, select_queue
from settlement.workers.inprocess import InProcessRunner
from settlement.workers.queue import TaskQueue
from settlement.workers.settings import WorkerSettings


@contextmanager
def task_queue_for(sessions: sessionmaker[Session], given: TaskQueue | None) -> Iterator[TaskQueue]:
    """``given``, or Celery when ``MSC_BROKER_URL`` answers, else an in-process runner on ``sessions``.

    A runner made here is closed when the block ends (the app shuts down).
    """
    if given is not None:
        yield given
        return
    settings = WorkerSettings.from_env()
    queue = select_queue(settings, lambda: api_context(sessions, settings, os.environ))
    try:
        yield queue
    finally:
        if isinstance(queue, InProcessRunner):
            queue.close()
