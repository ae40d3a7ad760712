"""Locks that make one step run once at a time per row, across processes and machines.

A step (approve payment P, mint the pending batch, ...) takes the lock named after it before it
reloads its rows; a second run of the same step waits for it (up to a bound) and then finds the
row already moved, so it does nothing.

* PostgreSQL: a session-level advisory lock (``pg_try_advisory_lock``) on a connection of its
  own. It does not block the row updates the step itself makes on other connections (a row lock
  held by the task would deadlock against them), and it dies with the connection: a worker
  killed mid-step never leaves a lock behind.
* SQLite: the embedded default runs every task in one process, so a per-name thread lock is
  enough; SQLite itself serialises writers.

Correctness never rests on these locks alone (every move is a conditional UPDATE from the
expected status); they stop duplicate runs from doing the same slow remote calls in parallel.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Engine, text

from settlement.workers.retry import StepBusyError

POLL_SECONDS = 0.05


# The two-key form: the schema (so schemas sharing a database never contend) and the step's name.
_KEY = "hashtext(current_schema()), hashtext(:name)"


class StepLocks:
    """Named locks over one database (see the module docstring).

    Args:
        engine: The platform database; its dialect picks the kind of lock.
        wait_seconds: How long :meth:`hold` waits before raising :class:`StepBusyError`.
    """

    def __init__(self, engine: Engine, wait_seconds: float = 5.0) -> None:
        self.engine = engine
        self.wait_seconds = wait_seconds
        self._local: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()

    @contextmanager
    def hold(self, step: str, key: str, wait_seconds: float | None = None) -> Iterator[None]:
        """Holds the lock of ``step`` on ``key`` for the block.

        Args:
            wait_seconds: How long to wait for it (default: the locks' ``wait_seconds``; 0: one try).

        Raises:
            StepBusyError: another run held it for longer than the wait.
        """
        name = f"{step}:{key}"
        wait = self.wait_seconds if wait_seconds is None else wait_seconds
        if self.engine.dialect.name == "postgresql":
            with self._advisory(name, step, key, wait):
                yield
        else:
            with self._thread_lock(name, step, key, wait):
                yield

    @contextmanager
    def _advisory(self, name: str, step: str, key: str, wait: float) -> Iterator[None]:
        deadline = time.monotonic() + wait
        with self.engine.connect() as connection:
            # Autocommit: a session-level advisory lock outlives transactions, and no transaction
            # stays open (and holds a snapshot) while the step runs.
            connection = connection.execution_options(isolation_level="AUTOCOMMIT")
            while not connection.scalar(text(f"SELECT pg_try_advisory_lock({_KEY})"), {"name": name}):
                if time.monotonic() >= deadline:
                    raise StepBusyError(step, key)
                time.sleep(POLL_SECONDS)
            try:
                yield
            finally:
                connection.execute(text(f"SELECT pg_advisory_unlock({_KEY})"), {"name": name})

    @contextmanager
    def _thread_lock(self, name: str, step: str, key: str, wait: float) -> Iterator[None]:
        with self._guard:
            lock = self._local.setdefault(name, threading.Lock())
        if not (lock.acquire(timeout=wait) if wait > 0 else lock.acquire(blocking=False)):
            raise StepBusyError(step, key)
        try:
            yield
        finally:
            lock.release()
