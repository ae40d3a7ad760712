"""When a failed task is retried, and after how long.

A task fails *permanently* when retrying cannot help: the platform refused the input or the
state (any :class:`common.errors.MSCError` that is not marked transient) — the step has already
recorded why on the row, e.g. by moving the payment to ``error``. Everything else (a peer or
database that did not answer, a lock held by another run, an unexpected exception) is retried
with exponential backoff and full jitter (AWS's "Exponential Backoff and Jitter"), so workers
that failed together do not retry together. Retrying is always safe: every step is idempotent.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from common.errors import MSCError

# Errors of the platform that mean "not now" rather than "never", matched by their codes so this
# module needs no import of the clients that raise them.
TRANSIENT_CODES = frozenset(
    {
        "step_busy",
        "pi_platform_unavailable",
        "pi_horizon_unavailable",
        "chain_unreachable",
        "idempotency_in_progress",
    }
)

# 5xx errors that no retry can fix.
PERMANENT_CODES = frozenset({"configuration_error", "deployment_not_found", "toolchain_missing"})


class StepBusyError(MSCError):
    """Another run of the same step holds its lock; this run retries later."""

    code = "step_busy"
    status_code = 503

    def __init__(self, step: str, key: str) -> None:
        super().__init__(f"{step} for {key} is running elsewhere; retrying later", step=step, key=key)


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff with full jitter, capped.

    Attributes:
        max_retries: Retries after the first attempt; then the task gives up (the sweep remains).
        base_seconds: Upper bound of the first delay.
        cap_seconds: Upper bound of any delay.
    """

    max_retries: int = 8
    base_seconds: float = 1.0
    cap_seconds: float = 60.0

    def delay(self, retries_so_far: int, rng: random.Random | None = None) -> float:
        """Seconds to wait before retry number ``retries_so_far + 1``: uniform in [0, min(cap, base*2^n)]."""
        ceiling = min(self.cap_seconds, self.base_seconds * (2 ** min(retries_so_far, 32)))
        return (rng or random).uniform(0, ceiling)

    def should_retry(self, exc: BaseException, retries_so_far: int) -> bool:
        """Whether to retry after ``exc`` (transient and retries left)."""
        return is_transient(exc) and retries_so_far < self.max_retries


def is_transient(exc: BaseException) -> bool:
    """Whether retrying may help: not a deliberate refusal by the platform."""
    if isinstance(exc, MSCError):
        if exc.code in TRANSIENT_CODES:
            return True
        # A 5xx of a peer (bad gateway, timeout) may pass; a refusal (4xx) or bad settings will not.
        return exc.status_code >= 500 and exc.code not in PERMANENT_CODES
    return True
