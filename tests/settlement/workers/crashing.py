"""A worker context factory that kills its own process once, between mint and bookkeeping.

Used as ``MSC_WORKER_CONTEXT_FACTORY=tests.settlement.workers.crashing:build_context`` by the
crash test: the production context, whose minter's observer sends SIGKILL to the worker (its
whole process group) right after the escrow deposit's receipt and before the payments are booked
-- the worst moment -- the first time it gets there (``MSC_TEST_CRASH_MARKER`` names a file that
records it happened).
"""

from __future__ import annotations

import os
import signal
import uuid
from collections.abc import Mapping
from pathlib import Path

from settlement.workers.assembly import build_context as production_context
from settlement.workers.context import WorkerContext


def build_context(environ: Mapping[str, str]) -> WorkerContext:
    """The production context with a minter that dies once at ``deposited``."""
    context = production_context(environ)
    marker = Path(environ["MSC_TEST_CRASH_MARKER"])
    minter = context.minter
    assert minter is not None

    def observe(step: str, batch_id: uuid.UUID) -> None:
        if step == "deposited" and not marker.exists():
            marker.write_text(str(batch_id))
            os.killpg(os.getpgid(0), signal.SIGKILL)  # the whole worker: main process and pool

    minter.observer = observe  # type: ignore[attr-defined]
    return context
