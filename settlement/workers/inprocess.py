"""The embedded default: the same task functions run on a thread pool of the calling process.

Used when no broker is configured (one machine, no Redis). Retries follow the same
:class:`~settlement.workers.retry.RetryPolicy` as Celery's, with timers instead of ETA messages;
follow-ups are run as new tasks. Work survives a restart the same way as with Celery: whatever
is pending is a row in a working status, and the periodic sweep (``start_sweeping``) re-runs it.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from settlement.workers import tasks
from settlement.workers.context import WorkerContext
from settlement.workers.retry import RetryPolicy
from settlement.workers.steps import SWEEP, StepResult
from settlement.workers.tasks import Step

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TaskOutcome:
    """One finished task: its name, arguments, attempts and result (or the error it gave up on)."""

    name: str
    args: tuple[str, ...]
    attempts: int
    result: StepResult | None
    error: str | None


class InProcessRunner:
    """Runs tasks on ``threads`` threads of this process; use as a context manager or ``close()``.

    Args:
        context: What the tasks work with.
        policy: Retry policy (the same as the Celery tasks').
        threads: Size of the pool.
        registry: Task table (default: every settlement task).
    """

    def __init__(
        self,
        context: WorkerContext,
        policy: RetryPolicy | None = None,
        threads: int = 2,
        registry: Mapping[str, Step] = tasks.TASKS,
    ) -> None:
        self.context = context
        self.policy = policy or RetryPolicy()
        self.registry = registry
        self._pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="msc-task")
        self._idle = threading.Condition()
        self._pending = 0
        self._timers: set[threading.Timer] = set()
        self._closed = threading.Event()
        self._sweeper: threading.Thread | None = None
        self.outcomes: list[TaskOutcome] = []

    def enqueue(self, name: str, *args: str) -> bool:
        """Queues ``name(*args)``; False once the runner is closed.

        Raises:
            KeyError: no task has this name (a programming error, refused at once).
        """
        if name not in self.registry:
            raise KeyError(f"no task named {name!r}")
        if self._closed.is_set():
            return False
        with self._idle:
            self._pending += 1
        try:
            self._pool.submit(self._attempt, name, args, 0)
        except RuntimeError:  # closed between the check and the submit
            self._finish(TaskOutcome(name, args, 0, None, "runner closed"))
            return False
        return True

    def _attempt(self, name: str, args: tuple[str, ...], retries: int) -> None:
        try:
            result = tasks.run(self.context, name, args, self.registry)
        except Exception as exc:
            if self.policy.should_retry(exc, retries) and not self._closed.is_set():
                delay = self.policy.delay(retries)
                log.info("task %s%s failed (%s); retry %d in %.2fs", name, args, exc, retries + 1, delay)
                self._later(delay, name, args, retries + 1)
                return
            log.warning("task %s%s gave up after %d attempts: %s", name, args, retries + 1, exc)
            self._finish(TaskOutcome(name, args, retries + 1, None, f"{type(exc).__name__}: {exc}"))
            return
        for follow in result.follow_ups:
            self.enqueue(follow.name, *follow.args)
        self._finish(TaskOutcome(name, args, retries + 1, result, None))

    def _later(self, delay: float, name: str, args: tuple[str, ...], retries: int) -> None:
        def fire() -> None:
            with self._idle:
                self._timers.discard(timer)
            if self._closed.is_set():
                self._finish(TaskOutcome(name, args, retries, None, "runner closed before the retry"))
                return
            try:
                self._pool.submit(self._attempt, name, args, retries)
            except RuntimeError:
                self._finish(TaskOutcome(name, args, retries, None, "runner closed before the retry"))

        timer = threading.Timer(delay, fire)
        timer.daemon = True
        with self._idle:
            self._timers.add(timer)
        timer.start()

    def _finish(self, outcome: TaskOutcome) -> None:
        with self._idle:
            self.outcomes.append(outcome)
            self._pending -= 1
            self._idle.notify_all()

    def drain(self, timeout: float = 30.0) -> bool:
        """Waits until no task is queued, running or waiting to retry; False on timeout."""
        with self._idle:
            return self._idle.wait_for(lambda: self._pending == 0, timeout=timeout)

    def start_sweeping(self, interval: float) -> None:
        """Runs the sweep every ``interval`` seconds until :meth:`close`."""

        def loop() -> None:
            while not self._closed.wait(interval):
                self.enqueue(SWEEP)

        self._sweeper = threading.Thread(target=loop, name="msc-task-sweep", daemon=True)
        self._sweeper.start()

    def close(self) -> None:
        """Stops sweeping and retrying, and waits for running tasks to finish."""
        self._closed.set()
        with self._idle:
            timers = list(self._timers)
            self._timers.clear()
        for timer in timers:
            timer.cancel()
        if self._sweeper is not None:
            self._sweeper.join(timeout=5)
        self._pool.shutdown(wait=True)

    def __enter__(self) -> InProcessRunner:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
